package outlier.harness;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.opensearch.commons.alerting.model.AggregationResultBucket;
import org.opensearch.commons.alerting.model.Alert;
import org.opensearch.commons.alerting.model.BucketLevelTrigger;
import org.opensearch.commons.alerting.model.Monitor;

/**
 * The alerts one bucket-level run makes, and the template context each per-alert action
 * gets, built from common-utils' own {@link Alert} and its {@code asTemplateArg()}.
 *
 * <p>Mirrors, from opensearch-project/alerting: AlertService (a NEW alert per fired bucket,
 * a DEDUPED one is the stored alert with a new bucket and notification time, a COMPLETED
 * one is the stored alert with state COMPLETED and an end time), BucketLevelMonitorRunner's
 * per-alert context (exactly one of newAlerts, dedupedAlerts, completedAlerts holds the
 * alert, and {@code results} is the run's last page: see {@link #lastPage}), BucketLevelTriggerExecutionContext.asTemplateArg (monitor, periodStart,
 * periodEnd, error, trigger, the three alert lists, results) and AlertContext (a new alert
 * adds nothing when no sample documents are asked for). The action's params are the
 * template's own params plus {@code ctx}, as MonitorRunner.compileTemplate passes them.
 */
final class BucketRun {
    static final String NEW = "NEW";
    static final String DEDUPED = "DEDUPED";
    static final String COMPLETED = "COMPLETED";

    private BucketRun() {}

    /** The alert a fired bucket raises: {@code keys} are the composite key's values in order. */
    static Alert newAlert(Monitor monitor, BucketLevelTrigger trigger, String parentPath,
                          List<String> keys, Map<String, Object> bucket, Instant now) {
        AggregationResultBucket result = new AggregationResultBucket(parentPath, keys, bucket);
        return new Alert(monitor, trigger, now, now, Alert.State.ACTIVE, null, List.of(),
            List.of(), 5, result, List.of(), "harness-execution", "", List.of());
    }

    /** The same alert one run later: still firing (DEDUPED) or no longer (COMPLETED). */
    static Alert laterAlert(Alert first, String category, Map<String, Object> bucket,
                            Instant later) {
        boolean done = category.equals(COMPLETED);
        AggregationResultBucket result = done ? first.getAggregationResultBucket()
            : new AggregationResultBucket(first.getAggregationResultBucket().getParentBucketPath(),
                first.getAggregationResultBucket().getBucketKeys(), bucket);
        return new Alert("alert-" + String.join("-", result.getBucketKeys()), 1L,
            first.getSchemaVersion(), first.getMonitorId(), first.getWorkflowId(),
            first.getWorkflowName(), first.getMonitorName(), first.getMonitorVersion(),
            first.getMonitorUser(), first.getTriggerId(), first.getTriggerName(),
            first.getFindingIds(), first.getRelatedDocIds(),
            done ? Alert.State.COMPLETED : first.getState(), first.getStartTime(),
            done ? later : null, done ? first.getLastNotificationTime() : later,
            first.getAcknowledgedTime(), null, first.getErrorHistory(), first.getSeverity(),
            first.getActionExecutionResults(), result, first.getExecutionId(),
            first.getAssociatedAlertIds(), first.getClusters());
    }

    /** The {@code ctx} of one per-alert action run for {@code alert} in {@code category}. */
    static Map<String, Object> context(Monitor monitor, BucketLevelTrigger trigger,
                                       List<Map<String, Object>> results, Instant periodStart,
                                       Instant periodEnd, String category, Alert alert) {
        Map<String, Object> ctx = new LinkedHashMap<>();
        ctx.put("monitor", monitor.asTemplateArg());
        ctx.put("periodStart", periodStart);
        ctx.put("periodEnd", periodEnd);
        ctx.put("error", null);
        ctx.put("trigger", trigger.asTemplateArg());
        List<Object> one = List.of(alert.asTemplateArg());
        ctx.put("dedupedAlerts", category.equals(DEDUPED) ? one : List.of());
        ctx.put("newAlerts", category.equals(NEW) ? one : List.of());
        ctx.put("completedAlerts", category.equals(COMPLETED) ? one : List.of());
        ctx.put("results", results);
        return ctx;
    }

    /** A template's params as the plugin passes them: its own params plus {@code ctx}. */
    static Map<String, Object> params(Map<String, Object> templateParams, Map<String, Object> ctx) {
        Map<String, Object> out = new HashMap<>(templateParams);
        out.put("ctx", ctx);
        return out;
    }

    /**
     * The alert's bucket keys as TriggerService reads them from a bucket: a string key (terms),
     * the values of an object key (composite), or {@code key_as_string} of a list key
     * (multi_terms); any other key makes the plugin's trigger run fail.
     */
    static List<String> bucketKeys(Map<String, Object> bucket) {
        Object key = bucket.get("key");
        List<String> out = new ArrayList<>();
        if (key instanceof String text) {
            out.add(text);
        } else if (key instanceof Integer number) {
            out.add(number.toString());
        } else if (key instanceof Map<?, ?> map) {
            map.values().forEach(value -> out.add(String.valueOf(value)));
        } else if (key instanceof List<?> && bucket.get("key_as_string") instanceof String text) {
            out.add(text);
        } else {
            throw new IllegalArgumentException("Unexpected format for key in bucket " + bucket);
        }
        return out;
    }

    /**
     * The search response the actions see. BucketLevelMonitorRunner pages through composite
     * aggregations until a page has no {@code after_key}, and runs the actions with the
     * trigger context of that last page, whose composite buckets are empty (alerting PR 159
     * fixed this for the run result only). A terms aggregation is not paged: one page.
     */
    @SuppressWarnings("unchecked")
    static Map<String, Object> lastPage(Monitor monitor, Map<String, Object> response) {
        Map<String, Object> aggs = (Map<String, Object>) response.get("aggregations");
        if (aggs == null) {
            return response;
        }
        Map<String, Object> page = new LinkedHashMap<>(response);
        Map<String, Object> lastAggs = new LinkedHashMap<>(aggs);
        for (org.opensearch.commons.alerting.model.Trigger t : monitor.getTriggers()) {
            String parent = ((BucketLevelTrigger) t).getBucketSelector().getParentBucketPath();
            Object agg = aggs.get(parent);
            if (agg instanceof Map<?, ?> map && map.containsKey("after_key")) {
                Map<String, Object> empty = new LinkedHashMap<>((Map<String, Object>) map);
                empty.remove("after_key");
                empty.put("buckets", List.of());
                lastAggs.put(parent, empty);
            }
        }
        page.put("aggregations", lastAggs);
        return page;
    }
}
