// Handlers under test would write an EMF metrics line per invocation and an INFO line per batch to
// standard output, which jest does not capture. The Powertools variables turn the metrics off and
// keep errors only, unless a run sets them; tests of the logs and metrics themselves
// set them for their own handlers (test/unit/telemetry.test.ts).
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';
