import type { Origin } from '../bus.js';
import type { IngestSink } from '../ingest/pipeline.js';
import { eventLine, seriesLine, telemetrySeries } from './influx/points.js';
import type { InfluxWriter } from './influx/writer.js';

/**
 * Ingest's durable hand-off to InfluxDB (or the spool): QoS 1 waits until the point is safe; QoS 0 waits only
 * for back-pressure. Shared by the gateway and the ingest worker.
 */
export function deviceSink(writer: InfluxWriter): IngestSink {
  const store = (line: string, qos: number) => {
    const safe = writer.write(line);
    return qos > 0 ? safe : writer.pressure();
  };
  // A device's series key never changes while it is connected; the broker keeps one origin per connection
  // (per device on an external broker).
  const series = new WeakMap<Origin, string>();
  const seriesOf = (o: Origin) => {
    let key = series.get(o);
    if (key === undefined) {
      key = telemetrySeries(o.kind, o.site, o.device, o.zone);
      series.set(o, key);
    }
    return key;
  };
  return {
    telemetry: (o, fields, ts, qos) => store(seriesLine(seriesOf(o), fields, ts), qos),
    event: (o, type, details, ts, qos) => store(eventLine(o.site, o.kind, o.device, o.zone, type, details, ts), qos),
  };
}

/** For a primary whose ingest workers store (STORE_TELEMETRY=false): validated messages feed the rules only. */
export const NO_STORE_SINK: IngestSink = { telemetry: () => undefined, event: () => undefined };
