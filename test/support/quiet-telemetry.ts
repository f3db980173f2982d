// Handlers under test would write an EMF metrics line per invocation to standard output, which jest
// does not capture; this turns that output off (the Powertools variable) unless a run sets it.
// Tests of the metrics themselves set it back for their own handlers (test/unit/telemetry.test.ts).
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
