/**
 * `greenlight logs APP` on a host: the logs a failed deploy's new color left in this host's
 * `<GREENLIGHT_HOME>/logs` (host/kept-logs.ts). Loaded by the CLI with import() inside the logs command only.
 */
import { keptLogsHere } from '../host/kept-logs';
import type { KeptLogsReader } from '../src/cli/commands/logs';

export function keptLogsReaderHere(): KeptLogsReader {
  return keptLogsHere();
}
