package dev.courier.testnode;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

import org.opensearch.action.admin.cluster.health.ClusterHealthResponse;
import org.opensearch.analysis.common.CommonAnalysisPlugin;
import org.opensearch.cluster.service.ClusterService;
import org.opensearch.common.settings.Settings;
import org.opensearch.common.unit.TimeValue;
import org.opensearch.env.Environment;
import org.opensearch.http.HttpServerTransport;
import org.opensearch.index.mapper.MapperExtrasPlugin;
import org.opensearch.index.reindex.ReindexPlugin;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.painless.PainlessPlugin;
import org.opensearch.plugins.Plugin;
import org.opensearch.transport.Netty4Plugin;

/**
 * A real single-node OpenSearch with its REST layer on 127.0.0.1, for tests.
 *
 * <pre>
 * java -Xmx512m -cp 'target/classes:target/lib/*' dev.courier.testnode.OpenSearchTestNode \
 *     [--port N]             HTTP port, 0 (default) = ephemeral
 *     [--data DIR]           path.data; reused across restarts. Default: a temp dir removed on exit
 *     [--exit-on-stdin-eof]  shut down when stdin closes (the parent died or closed the pipe)
 *     [--log-level LEVEL]    OpenSearch log level on stderr (default warn)
 * </pre>
 *
 * Once the cluster is at least yellow it prints exactly one line to stdout,
 * {@code OPENSEARCH_READY http://127.0.0.1:<port>}, and runs until SIGTERM/SIGINT.
 * Everything OpenSearch logs goes to stderr (see log4j2.xml).
 */
public final class OpenSearchTestNode {

    public static final String READY_PREFIX = "OPENSEARCH_READY ";

    /** The modules an OpenSearch distribution would load from modules/, given as classpath plugins. */
    static final List<Class<? extends Plugin>> PLUGINS = List.of(
        Netty4Plugin.class,
        PainlessPlugin.class,
        ReindexPlugin.class,
        CommonAnalysisPlugin.class,
        MapperExtrasPlugin.class
    );

    /** Node's plugin-taking constructor is protected: it is meant for embedding, as here. */
    static final class EmbeddedNode extends Node {
        EmbeddedNode(Environment environment) {
            super(environment, PLUGINS, true /* forbidPrivateIndexSettings, as in a real node */);
        }

        @Override
        protected void configureNodeAndClusterIdStateListener(ClusterService clusterService) {
            // Only feeds node/cluster ids to OpenSearch's log4j pattern converter, which we do not
            // install (no LogConfigurator: it would take over stdout).
        }
    }

    public static void main(String[] args) throws Exception {
        int port = 0;
        Path dataDir = null;
        boolean exitOnStdinEof = false;
        String logLevel = "warn";
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--port" -> port = Integer.parseInt(value(args, ++i, "--port"));
                case "--data" -> dataDir = Paths.get(value(args, ++i, "--data")).toAbsolutePath();
                case "--exit-on-stdin-eof" -> exitOnStdinEof = true;
                case "--log-level" -> logLevel = value(args, ++i, "--log-level");
                default -> usage("unknown argument: " + args[i]);
            }
        }
        if (port < 0 || port > 65535) usage("--port must be 0..65535");

        // Read by log4j2.xml; must be set before the first OpenSearch class initialises log4j.
        System.setProperty("testnode.log.level", logLevel);
        // Netty would otherwise refuse a second "available processors" value in the same JVM.
        System.setProperty("opensearch.set.netty.runtime.available.processors", "false");
        System.setProperty("log4j2.disable.jmx", "true");
        // Our hook closes the node; log4j's own hook would only race it and then complain.
        System.setProperty("log4j2.shutdownHookEnabled", "false");
        System.setProperty("java.awt.headless", "true");

        // Keep stdout for the READY line only: anything else that writes to System.out
        // goes to stderr instead.
        PrintStream stdout = System.out;
        System.setOut(System.err);

        long t0 = System.nanoTime();
        Path home = Files.createTempDirectory("opensearch-test-node-");
        if (dataDir == null) dataDir = home.resolve("data");
        Files.createDirectories(dataDir);

        Settings settings = Settings.builder()
            .put("path.home", home.toString())
            .put("path.data", dataDir.toString())
            .put("path.logs", home.resolve("logs").toString())
            .put("cluster.name", "courier-test")
            .put("node.name", "node-0")
            .put("discovery.type", "single-node")
            .put("network.host", "127.0.0.1")
            .put("http.port", Integer.toString(port))
            .put("transport.port", "0")
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            .put("indices.breaker.total.use_real_memory", false)
            .put("script.disable_max_compilations_rate", true)
            // Every suite makes its own indices (a prefix each, kept for a look after a failure): a whole run
            // makes several hundred shards, and the default limit (1,000 per node) is no test of courier.
            .put("cluster.max_shards_per_node", 10000)
            .build();
        // No config/, modules/ or plugins/ dirs are needed: the modules come in as classpath plugins.
        Environment environment = InternalSettingsPreparer.prepareEnvironment(
            settings, Map.of(), null, () -> "node-0");

        // Registered before the node exists so that the temp home goes away even if start-up fails.
        AtomicReference<Node> started = new AtomicReference<>();
        CountDownLatch closed = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                Node running = started.get();
                if (running != null) {
                    running.close();
                    running.awaitClose(15, TimeUnit.SECONDS);
                }
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                deleteRecursively(home); // holds data/ too unless --data was given
                closed.countDown();
            }
        }, "test-node-shutdown"));

        if (exitOnStdinEof) {
            Thread watcher = new Thread(() -> {
                try (InputStream in = System.in) {
                    byte[] buf = new byte[256];
                    while (in.read(buf) >= 0) {
                        // discard: stdin exists only so that its end tells us the parent is gone
                    }
                } catch (IOException ignored) {
                    // treat like EOF
                }
                System.exit(0);
            }, "test-node-stdin-watch");
            watcher.setDaemon(true);
            watcher.start();
        }

        Node node = new EmbeddedNode(environment);
        started.set(node);
        node.start();
        // Index creation reads the default replica count from the cluster metadata, not from
        // node settings: as a node setting it is silently ignored and every index stays yellow.
        node.client().admin().cluster().prepareUpdateSettings()
            .setPersistentSettings(Settings.builder().put("cluster.default_number_of_replicas", 0))
            .get();
        ClusterHealthResponse health = node.client().admin().cluster().prepareHealth()
            .setWaitForYellowStatus()
            .setTimeout(TimeValue.timeValueSeconds(60))
            .get();
        if (health.isTimedOut()) {
            System.err.println("cluster did not reach yellow within 60s: " + health.getStatus());
            System.exit(1);
        }
        int boundPort = node.injector().getInstance(HttpServerTransport.class)
            .boundAddress().publishAddress().getPort();
        System.err.printf("opensearch test node started in %d ms (data: %s)%n",
            TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0), dataDir);
        stdout.println(READY_PREFIX + "http://127.0.0.1:" + boundPort);
        stdout.flush();

        // All OpenSearch threads are daemons: without this the JVM would exit right away.
        closed.await();
    }

    private static String value(String[] args, int i, String flag) {
        if (i >= args.length) usage(flag + " needs a value");
        return args[i];
    }

    private static void usage(String problem) {
        System.err.println(problem);
        System.err.println("usage: OpenSearchTestNode [--port N] [--data DIR] [--exit-on-stdin-eof] [--log-level LEVEL]");
        System.exit(2);
    }

    private static void deleteRecursively(Path dir) {
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // best effort: it is a temp dir
        }
    }
}
