import { useEffect, useRef, useState } from "react";
import { Link, useParams, useSearchParams } from "react-router-dom";
import { request } from "../api/client";
import { CANCEL_INGEST, INGEST_PROGRESS, REINDEX_VIDEO, RETRY, VIDEO, type IngestEvent, type VideoDetail, type VideoStatus } from "../api/queries";
import { subscribe } from "../api/ws";
import { ErrorNotice, Loading } from "../components/Notice";
import { StatusBadge } from "../components/StatusBadge";
import { StepList } from "../components/StepList";
import { VideoSearch } from "../components/VideoSearch";
import { formatTime, videoStatusOf } from "../format";
import { useQuery } from "../useQuery";

/** One video: player, pipeline steps (live), transcript, keyframes, on-screen text. */
export function VideoPage() {
  const { id = "" } = useParams();
  const [params] = useSearchParams();
  const start = Number(params.get("t") ?? "");
  const q = useQuery((signal) => request<{ video: VideoDetail | null }>(VIDEO, { id }, signal), [id]);
  const { setData, reload } = q;
  const player = useRef<HTMLVideoElement>(null);
  const pending = useRef<number>();
  const [actionError, setActionError] = useState<Error>();
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    const stop = subscribe<{ ingestProgress: IngestEvent }>(INGEST_PROGRESS, { id }, ({ ingestProgress: ev }) => {
      setData((d) => (d?.video ? { video: applyEvent(d.video, ev) } : d));
      // Finished steps bring keyframes, text and the transcript: refetch them.
      if (ev.step === null || ev.status === "SUCCEEDED" || ev.status === "FAILED") {
        window.clearTimeout(pending.current);
        pending.current = window.setTimeout(reload, 300);
      }
    });
    return () => {
      stop();
      window.clearTimeout(pending.current);
    };
  }, [id, setData, reload]);

  // Open at ?t= (a search hit's moment), also when only the query changes.
  useEffect(() => {
    const v = player.current;
    if (!v || !Number.isFinite(start)) return;
    if (v.readyState >= HTMLMediaElement.HAVE_METADATA) v.currentTime = start;
  }, [start, q.data?.video?.url]);

  const seek = (t: number) => {
    const v = player.current;
    if (!v) return;
    v.currentTime = t;
    void v.play().catch(() => undefined);
    v.focus();
  };

  // Retry, cancel and reindex answer with the video's new status; the
  // steps follow over ingestProgress and a reload.
  const act = (mutation: string, confirmText?: string) => async () => {
    if (confirmText && !window.confirm(confirmText)) return;
    setActionError(undefined);
    setBusy(true);
    try {
      const d = await request<Record<string, { id: string; status: VideoStatus }>>(mutation, { id });
      const status = Object.values(d)[0]?.status;
      if (status) setData((cur) => (cur?.video ? { video: { ...cur.video, status } } : cur));
      reload();
    } catch (e) {
      setActionError(e as Error);
    } finally {
      setBusy(false);
    }
  };
  const retry = act(RETRY);

  if (q.error && !q.data) return <ErrorNotice error={q.error} onRetry={reload} />;
  if (!q.data) return <Loading />;
  const v = q.data.video;
  if (!v) {
    return (
      <section>
        <h1>Video not found</h1>
        <p>
          It may have been deleted, or it belongs to a workspace you are not in. <Link to="/">Back to the library</Link>
        </p>
      </section>
    );
  }
  return (
    <article className="video-page" aria-labelledby="video-title">
      <div className="page-head">
        <h1 id="video-title">{v.title}</h1>
        <StatusBadge status={v.status} />
      </div>
      <div className="video-layout">
        <div className="player">
          <video
            ref={player}
            src={v.url}
            controls
            preload="metadata"
            aria-label={`Video: ${v.title}`}
            onLoadedMetadata={(e) => {
              if (Number.isFinite(start)) e.currentTarget.currentTime = start;
            }}
          />
          {v.durationSeconds != null && <p className="hint">Duration {formatTime(v.durationSeconds)}</p>}
        </div>
        <aside aria-labelledby="steps-title" className="steps">
          <h2 id="steps-title">Processing</h2>
          {v.status === "FAILED" && (
            <div className="notice notice-error" role="alert">
              <p>{v.error ?? "Processing failed."}</p>
              <button type="button" onClick={() => void retry()}>
                Retry
              </button>
            </div>
          )}
          {v.status === "CANCELLED" && (
            <button type="button" onClick={() => void retry()}>
              Retry
            </button>
          )}
          {(v.status === "QUEUED" || v.status === "PROCESSING") && (
            <button type="button" className="secondary" disabled={busy} onClick={() => void act(CANCEL_INGEST, "Stop processing this video?")()}>
              Cancel processing
            </button>
          )}
          {v.status === "SUCCEEDED" && (
            <div className="actions">
              <button type="button" className="secondary" disabled={busy} onClick={() => void act(REINDEX_VIDEO)()}>
                Reindex
              </button>
              <p className="hint">Transcribes and embeds again with the models configured now.</p>
            </div>
          )}
          {actionError && <ErrorNotice error={actionError} />}
          <StepList steps={v.steps} />
        </aside>
      </div>

      <VideoSearch workspaceId={v.workspaceID} videoId={v.id} onSeek={seek} />

      <section aria-labelledby="keyframes-title">
        <h2 id="keyframes-title">Keyframes</h2>
        {v.keyframes.length === 0 ? (
          <p className="hint">No keyframes yet.</p>
        ) : (
          <ul className="keyframes">
            {v.keyframes.map((k) => (
              <li key={k.time}>
                <button type="button" onClick={() => seek(k.time)} aria-label={`Play from ${formatTime(k.time)}`}>
                  <img src={k.url} alt={`Frame at ${formatTime(k.time)}`} width={160} height={Math.round((160 * k.height) / (k.width || 1))} loading="lazy" />
                  <span>{formatTime(k.time)}</span>
                </button>
              </li>
            ))}
          </ul>
        )}
      </section>

      <div className="two-col">
        <section aria-labelledby="transcript-title">
          <h2 id="transcript-title">Transcript</h2>
          {!v.transcript || v.transcript.segments.length === 0 ? (
            <p className="hint">No transcript{v.status === "SUCCEEDED" ? " (no speech was transcribed)" : " yet"}.</p>
          ) : (
            <>
              {v.transcript.fallback && (
                <p className="hint">Made by the offline fallback recogniser ({v.transcript.model}); expect mistakes.</p>
              )}
              <ol className="transcript">
                {v.transcript.segments.map((s) => (
                  <li key={s.start}>
                    <button type="button" className="time" onClick={() => seek(s.start)}>
                      {formatTime(s.start)}
                    </button>{" "}
                    {s.text}
                  </li>
                ))}
              </ol>
            </>
          )}
        </section>
        <section aria-labelledby="ocr-title">
          <h2 id="ocr-title">On-screen text</h2>
          {v.ocr.length === 0 ? (
            <p className="hint">No on-screen text{v.status === "SUCCEEDED" ? " was found" : " yet"}.</p>
          ) : (
            <ol className="transcript">
              {v.ocr.map((o) => (
                <li key={`${o.time}-${o.text}`}>
                  <button type="button" className="time" onClick={() => seek(o.time)}>
                    {formatTime(o.time)}
                  </button>{" "}
                  {o.text}
                </li>
              ))}
            </ol>
          )}
        </section>
      </div>
    </article>
  );
}

function applyEvent(v: VideoDetail, ev: IngestEvent): VideoDetail {
  if (ev.step === null) return { ...v, status: videoStatusOf(ev.status) };
  const known = v.steps.some((s) => s.name === ev.step);
  const steps = known
    ? v.steps.map((s) =>
        s.name === ev.step ? { ...s, status: ev.status, progress: ev.progress, message: ev.message ?? s.message } : s,
      )
    : [...v.steps, { name: ev.step, status: ev.status, progress: ev.progress, attempts: 1, error: null, message: ev.message }];
  const status = v.status === "QUEUED" ? "PROCESSING" : v.status;
  return { ...v, steps, status };
}
