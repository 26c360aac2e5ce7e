import type { IngestStatus, VideoStatus } from "../api/queries";
import { statusLabel } from "../format";

/** A coloured status label; the text carries the meaning, not the colour. */
export function StatusBadge({ status }: { status: VideoStatus | IngestStatus }) {
  return (
    <span className={`badge badge-${status.toLowerCase()}`} data-status={status}>
      {statusLabel[status]}
    </span>
  );
}
