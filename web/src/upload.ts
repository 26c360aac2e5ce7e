// Resumable uploads (tus 1.0 at /uploads/). The server reads workspaceId,
// filename, title and filetype from Upload-Metadata and answers the request
// that completes an upload with the new video's id in Vindex-Video-Id.
// tus-js-client remembers unfinished uploads in localStorage by the file's
// fingerprint, so dropping the same file after a reload resumes it.
import { Upload } from "tus-js-client";
import { accessToken, renew } from "./api/client";
import { getSession } from "./api/session";

export interface UploadHandlers {
  onProgress: (sent: number, total: number) => void;
  onSuccess: (videoId: string | null) => void;
  onError: (message: string) => void;
}

export function startUpload(file: File, workspaceId: string, h: UploadHandlers): { abort: () => void } {
  let videoId: string | null = null;
  const up = new Upload(file, {
    endpoint: "/uploads/",
    metadata: { workspaceId, filename: file.name, filetype: file.type || "application/octet-stream" },
    chunkSize: 32 * 1024 * 1024,
    retryDelays: [0, 1000, 3000, 5000, 10000],
    removeFingerprintOnSuccess: true,
    onBeforeRequest: async (req) => {
      const token = await accessToken();
      if (token) req.setHeader("Authorization", `Bearer ${token}`);
    },
    onAfterResponse: (_req, res) => {
      const id = res.getHeader("Vindex-Video-Id");
      if (id) videoId = id;
    },
    onShouldRetry: (err, _attempt, options) => {
      const status = err.originalResponse?.getStatus() ?? 0;
      if (status === 401) {
        // The access token ran out mid-upload: renew it, then try again.
        const s = getSession();
        if (s) void renew(s.accessToken);
        return true;
      }
      if (status >= 400 && status < 500 && status !== 409 && status !== 423) return false;
      return options.retryDelays != null;
    },
    onProgress: h.onProgress,
    onSuccess: () => h.onSuccess(videoId),
    onError: (err) => h.onError(uploadMessage(err)),
  });
  up.findPreviousUploads().then(
    (previous) => {
      if (previous.length > 0) up.resumeFromPreviousUpload(previous[0]);
      up.start();
    },
    () => up.start(),
  );
  return { abort: () => void up.abort() };
}

/** The server's reason (tus answers in plain text), not the library's dump. */
function uploadMessage(err: Error & { originalResponse?: { getBody(): string; getStatus(): number } | null }): string {
  const body = err.originalResponse?.getBody()?.trim();
  if (body) return body;
  if (err.originalResponse) return `The upload failed (HTTP ${err.originalResponse.getStatus()}).`;
  return "The upload failed: the server cannot be reached.";
}
