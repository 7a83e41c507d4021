package outlier.harness;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.opensearch.common.xcontent.XContentFactory;
import org.opensearch.commons.alerting.model.Alert;
import org.opensearch.commons.alerting.model.BucketLevelTrigger;
import org.opensearch.commons.alerting.model.Monitor;
import org.opensearch.commons.alerting.model.Trigger;
import org.opensearch.commons.alerting.model.action.Action;
import org.opensearch.commons.alerting.model.action.AlertCategory;
import org.opensearch.commons.alerting.model.action.PerAlertActionScope;
import org.opensearch.core.common.bytes.BytesReference;
import org.opensearch.core.xcontent.XContentBuilder;
import org.opensearch.script.Script;
import org.opensearch.script.TemplateScript;
import org.opensearch.script.mustache.MustacheScriptEngine;

/**
 * {@code java outlier.harness.HarnessMain REQUEST.json RESPONSE.json}.
 *
 * <p>The request names monitor and channel bodies (JSON text, as setup sends them) and runs:
 * a monitor, the search response of its period, the bucket indices each trigger fired for,
 * and the search response of the next period (where a COMPLETED alert's bucket is gone).
 * The response holds, per file, the parse outcome and the form the plugin stores; per run,
 * every page each action would send for its NEW, DEDUPED and COMPLETED alerts (only the
 * categories the action's per-alert scope lists), each rendered by the real mustache engine,
 * with the variables it read that the plugin does not pass.
 */
public final class HarnessMain {
    private static final MustacheScriptEngine MUSTACHE = new MustacheScriptEngine();

    private HarnessMain() {}

    public static void main(String[] args) throws IOException {
        Map<String, Object> request = PluginParsers.toMap(
            new org.opensearch.core.common.bytes.BytesArray(Files.readAllBytes(Path.of(args[0]))));
        PluginParsers parsers = new PluginParsers();
        Map<String, Object> response = new LinkedHashMap<>();
        response.put("monitors", parseAll(request, "monitors", parsers, true));
        response.put("channels", parseAll(request, "channels", parsers, false));
        List<Object> pages = new ArrayList<>();
        for (Object run : (List<?>) request.getOrDefault("runs", List.of())) {
            pages.addAll(pagesOf(parsers, cast(run)));
        }
        response.put("pages", pages);
        XContentBuilder out = XContentFactory.jsonBuilder().map(response);
        Files.write(Path.of(args[1]),
            BytesReference.bytes(out).utf8ToString().getBytes(StandardCharsets.UTF_8));
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> cast(Object value) {
        return (Map<String, Object>) value;
    }

    private static Map<String, Object> parseAll(Map<String, Object> request, String key,
                                                PluginParsers parsers, boolean monitors) {
        Map<String, Object> out = new LinkedHashMap<>();
        Map<String, Object> files = cast(request.getOrDefault(key, Map.of()));
        for (Map.Entry<String, Object> file : files.entrySet()) {
            Map<String, Object> result = new LinkedHashMap<>();
            try {
                String text = (String) file.getValue();
                result.put("stored", monitors ? parsers.storedForm(parsers.parseMonitor(text))
                    : parsers.parseChannel(text));
                result.put("ok", true);
            } catch (Exception e) {  // what the REST handler would answer 400 with
                result.put("ok", false);
                result.put("error", e.getClass().getSimpleName() + ": " + e.getMessage());
            }
            out.put(file.getKey(), result);
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> pagesOf(PluginParsers parsers, Map<String, Object> run)
            throws IOException {
        Monitor monitor = parsers.parseMonitor((String) run.get("monitor"));
        Instant end = Instant.ofEpochMilli(((Number) run.get("period_end_ms")).longValue());
        Instant start = Instant.ofEpochMilli(((Number) run.get("period_start_ms")).longValue());
        Instant next = end.plusSeconds(60);
        Map<String, Object> firstPage = cast(run.get("results"));
        List<Map<String, Object>> results = List.of(firstPage);
        // the actions see the run's last page: after a paginated (composite) agg, an empty one
        List<Map<String, Object>> seen = List.of(BucketRun.lastPage(monitor, firstPage));
        List<Map<String, Object>> later = List.of(
            BucketRun.lastPage(monitor, cast(run.get("later_results"))));
        Map<String, Object> fired = cast(run.get("fired"));
        List<Map<String, Object>> pages = new ArrayList<>();
        for (Trigger t : monitor.getTriggers()) {
            BucketLevelTrigger trigger = (BucketLevelTrigger) t;
            String parent = trigger.getBucketSelector().getParentBucketPath();
            Map<String, Object> aggs = cast(results.get(0).get("aggregations"));
            List<Object> buckets = (List<Object>) cast(aggs.get(parent)).get("buckets");
            for (Object index : (List<?>) fired.getOrDefault(trigger.getName(), List.of())) {
                Map<String, Object> bucket = cast(buckets.get(((Number) index).intValue()));
                List<String> keys = BucketRun.bucketKeys(bucket);
                Alert first = BucketRun.newAlert(monitor, trigger, parent, keys, bucket, end);
                Map<String, Alert> alerts = new LinkedHashMap<>();
                alerts.put(BucketRun.NEW, first);
                alerts.put(BucketRun.DEDUPED,
                    BucketRun.laterAlert(first, BucketRun.DEDUPED, bucket, next));
                alerts.put(BucketRun.COMPLETED,
                    BucketRun.laterAlert(first, BucketRun.COMPLETED, bucket, next));
                for (Map.Entry<String, Alert> entry : alerts.entrySet()) {
                    String category = entry.getKey();
                    boolean completed = category.equals(BucketRun.COMPLETED);
                    Map<String, Object> ctx = BucketRun.context(monitor, trigger,
                        completed ? later : seen, category.equals(BucketRun.NEW) ? start
                            : end, category.equals(BucketRun.NEW) ? end : next, category,
                        entry.getValue());
                    for (Action action : trigger.getActions()) {
                        if (!actionable(action, category)) {
                            continue;
                        }
                        pages.add(page(monitor, trigger, action, category, keys, ctx));
                    }
                }
            }
        }
        return pages;
    }

    /** Whether a per-alert action runs for this category (the bucket-level default: NEW, DEDUPED). */
    private static boolean actionable(Action action, String category) {
        if (action.getActionExecutionPolicy() == null) {
            return !category.equals(BucketRun.COMPLETED);
        }
        if (!(action.getActionExecutionPolicy().getActionExecutionScope()
                instanceof PerAlertActionScope scope)) {
            throw new IllegalArgumentException(action.getName() + ": only per-alert actions");
        }
        return scope.getActionableAlerts().contains(AlertCategory.valueOf(category));
    }

    private static Map<String, Object> page(Monitor monitor, BucketLevelTrigger trigger,
                                            Action action, String category, List<String> keys,
                                            Map<String, Object> ctx) {
        Map<String, Object> page = new LinkedHashMap<>();
        page.put("monitor", monitor.getName());
        page.put("trigger", trigger.getName());
        page.put("action", action.getName());
        page.put("category", category);
        page.put("bucket_keys", keys);
        List<String> missing = new ArrayList<>();
        List<String> nulls = new ArrayList<>();
        for (String part : List.of("subject", "message")) {
            Script script = part.equals("subject") ? action.getSubjectTemplate()
                : action.getMessageTemplate();
            if (script == null) {
                continue;
            }
            Map<String, Object> params = BucketRun.params(script.getParams(), ctx);
            TemplateRefs refs = TemplateRefs.check(script.getIdOrCode(), params);
            refs.missing.forEach(name -> missing.add(part + ": " + name));
            refs.nulls.forEach(name -> nulls.add(part + ": " + name));
            TemplateScript.Factory factory = MUSTACHE.compile(action.getName(),
                script.getIdOrCode(), TemplateScript.CONTEXT, script.getOptions());
            page.put(part, factory.newInstance(params).execute());
        }
        page.put("missing", missing);
        page.put("nulls", nulls);
        return page;
    }
}
