package outlier.harness;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.opensearch.common.settings.Settings;
import org.opensearch.common.xcontent.XContentFactory;
import org.opensearch.common.xcontent.XContentHelper;
import org.opensearch.common.xcontent.XContentType;
import org.opensearch.commons.alerting.model.BucketLevelTrigger;
import org.opensearch.commons.alerting.model.ChainedAlertTrigger;
import org.opensearch.commons.alerting.model.ClusterMetricsInput;
import org.opensearch.commons.alerting.model.DocLevelMonitorInput;
import org.opensearch.commons.alerting.model.DocumentLevelTrigger;
import org.opensearch.commons.alerting.model.Monitor;
import org.opensearch.commons.alerting.model.QueryLevelTrigger;
import org.opensearch.commons.alerting.model.SearchInput;
import org.opensearch.commons.alerting.model.Workflow;
import org.opensearch.commons.notifications.action.CreateNotificationConfigRequest;
import org.opensearch.core.common.bytes.BytesReference;
import org.opensearch.core.xcontent.DeprecationHandler;
import org.opensearch.core.xcontent.NamedXContentRegistry;
import org.opensearch.core.xcontent.ToXContent;
import org.opensearch.core.xcontent.XContentBuilder;
import org.opensearch.core.xcontent.XContentParser;
import org.opensearch.core.xcontent.XContentParserUtils;
import org.opensearch.search.SearchModule;

/**
 * The Alerting and Notifications plugins' own parsers (common-utils) with the registry the
 * Alerting plugin builds: OpenSearch's search module (queries, aggregations) plus the
 * monitor, input and trigger entries of {@code AlertingPlugin.getNamedXContent()}.
 */
final class PluginParsers {
    private final NamedXContentRegistry registry;

    PluginParsers() {
        List<NamedXContentRegistry.Entry> entries =
            new ArrayList<>(new SearchModule(Settings.EMPTY, List.of()).getNamedXContents());
        entries.add(Monitor.Companion.getXCONTENT_REGISTRY());
        entries.add(SearchInput.Companion.getXCONTENT_REGISTRY());
        entries.add(DocLevelMonitorInput.Companion.getXCONTENT_REGISTRY());
        entries.add(ClusterMetricsInput.Companion.getXCONTENT_REGISTRY());
        entries.add(QueryLevelTrigger.Companion.getXCONTENT_REGISTRY());
        entries.add(BucketLevelTrigger.Companion.getXCONTENT_REGISTRY());
        entries.add(DocumentLevelTrigger.Companion.getXCONTENT_REGISTRY());
        entries.add(ChainedAlertTrigger.Companion.getXCONTENT_REGISTRY());
        entries.add(Workflow.Companion.getXCONTENT_REGISTRY());
        registry = new NamedXContentRegistry(entries);
    }

    private XContentParser parser(String json) throws IOException {
        XContentParser xcp = XContentType.JSON.xContent().createParser(
            registry, DeprecationHandler.THROW_UNSUPPORTED_OPERATION, json);
        XContentParserUtils.ensureExpectedToken(
            XContentParser.Token.START_OBJECT, xcp.nextToken(), xcp);
        return xcp;
    }

    /**
     * A monitor as the REST create/update handler reads its body (RestIndexMonitorAction:
     * {@code Monitor.parse(xcp, id)} after the opening brace). Monitor's own constructor
     * rejects triggers of another monitor type.
     */
    Monitor parseMonitor(String json) throws IOException {
        try (XContentParser xcp = parser(json)) {
            return Monitor.Companion.parse(xcp, Monitor.NO_ID);
        }
    }

    /** The document the plugin indexes into .opendistro-alerting-config and serves back. */
    Map<String, Object> storedForm(Monitor monitor) throws IOException {
        XContentBuilder builder = XContentFactory.jsonBuilder();
        monitor.toXContentWithUser(builder,
            new ToXContent.MapParams(Map.of("with_type", "true")));
        return toMap(BytesReference.bytes(builder));
    }

    /** A channel body as the Notifications REST handler reads it (config_id + config). */
    Map<String, Object> parseChannel(String json) throws IOException {
        try (XContentParser xcp = parser(json)) {
            CreateNotificationConfigRequest request =
                CreateNotificationConfigRequest.Companion.parse(xcp, null);
            XContentBuilder builder = XContentFactory.jsonBuilder();
            request.toXContent(builder, ToXContent.EMPTY_PARAMS);
            return toMap(BytesReference.bytes(builder));
        }
    }

    static Map<String, Object> toMap(BytesReference bytes) {
        return XContentHelper.convertToMap(bytes, true, XContentType.JSON).v2();
    }
}
