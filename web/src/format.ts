// Formatting shared by the pages.
import type { IngestStatus, VideoStatus } from "./api/queries";

/** 75.4 → "1:15"; 3725 → "1:02:05". */
export function formatTime(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/** The video status an ingest event about the whole video implies. */
export function videoStatusOf(s: IngestStatus): VideoStatus {
  switch (s) {
    case "QUEUED":
      return "QUEUED";
    case "SUCCEEDED":
    case "SKIPPED":
      return "SUCCEEDED";
    case "FAILED":
      return "FAILED";
    case "CANCELLED":
      return "CANCELLED";
    default:
      return "PROCESSING";
  }
}

export const statusLabel: Record<VideoStatus | IngestStatus, string> = {
  UPLOADING: "Uploading",
  QUEUED: "Queued",
  PROCESSING: "Processing",
  RUNNING: "Running",
  RETRYING: "Retrying",
  SUCCEEDED: "Ready",
  FAILED: "Failed",
  CANCELLED: "Cancelled",
  SKIPPED: "Skipped",
};

/** "transcribe_audio" → "Transcribe audio". */
export function stepLabel(name: string): string {
  const s = name.replace(/[_-]+/g, " ").trim();
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** Splits a search snippet into plain and matched parts; «…» marks matches. */
export function snippetParts(snippet: string): { text: string; match: boolean }[] {
  const parts: { text: string; match: boolean }[] = [];
  const re = /«([^»]*)»/g;
  let last = 0;
  for (let m = re.exec(snippet); m; m = re.exec(snippet)) {
    if (m.index > last) parts.push({ text: snippet.slice(last, m.index), match: false });
    if (m[1]) parts.push({ text: m[1], match: true });
    last = m.index + m[0].length;
  }
  if (last < snippet.length) parts.push({ text: snippet.slice(last).replace(/[«»]/g, ""), match: false });
  return parts;
}

/** An RFC 3339 time as a short local date and time. */
export function formatDate(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}
