import { useEffect, useRef } from "react";
import { Link } from "react-router-dom";
import { request } from "../api/client";
import { VIDEOS, WORKSPACE_EVENTS, type IngestEvent, type VideoSummary } from "../api/queries";
import { subscribe } from "../api/ws";
import { useAuth } from "../auth";
import { Empty, ErrorNotice, Loading } from "../components/Notice";
import { StatusBadge } from "../components/StatusBadge";
import { formatTime, videoStatusOf } from "../format";
import { useQuery } from "../useQuery";

interface VideosData {
  workspace: { videos: { totalCount: number; edges: { node: VideoSummary }[] } } | null;
}

/** The workspace's videos, newest first, with live status. */
export function LibraryPage() {
  const { workspace } = useAuth();
  const wsId = workspace!.id;
  const q = useQuery((signal) => request<VideosData>(VIDEOS, { id: wsId }, signal), [wsId]);
  const { setData, reload } = q;
  const pending = useRef<number>();

  useEffect(() => {
    const stop = subscribe<{ workspaceEvents: IngestEvent }>(WORKSPACE_EVENTS, { id: wsId }, ({ workspaceEvents: ev }) => {
      if (ev.step === null) {
        setData((d) => patchStatus(d, ev));
      }
      // New videos, thumbnails and durations arrive with the pipeline: refetch,
      // at most twice a second.
      window.clearTimeout(pending.current);
      pending.current = window.setTimeout(reload, 500);
    });
    return () => {
      stop();
      window.clearTimeout(pending.current);
    };
  }, [wsId, setData, reload]);

  const videos = q.data?.workspace?.videos.edges.map((e) => e.node) ?? [];
  return (
    <section aria-labelledby="library-title">
      <div className="page-head">
        <h1 id="library-title">Library</h1>
        <Link className="button" to="/upload">
          Upload videos
        </Link>
      </div>
      {q.error && <ErrorNotice error={q.error} onRetry={reload} />}
      {!q.data && q.loading && <Loading />}
      {q.data && videos.length === 0 && (
        <Empty title="No videos yet">
          <p>
            <Link to="/upload">Upload a video</Link> and it becomes searchable by what is said, shown and written on
            screen.
          </p>
        </Empty>
      )}
      {videos.length > 0 && (
        <ul className="grid" aria-label="Videos">
          {videos.map((v) => (
            <li key={v.id} className="card">
              <Link to={`/videos/${v.id}`}>
                {v.thumbnailUrl ? (
                  <img src={v.thumbnailUrl} alt="" loading="lazy" />
                ) : (
                  <div className="thumb-placeholder" aria-hidden="true" />
                )}
                <span className="card-title">{v.title}</span>
              </Link>
              <div className="card-meta">
                <StatusBadge status={v.status} />
                {v.durationSeconds != null && <span>{formatTime(v.durationSeconds)}</span>}
              </div>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function patchStatus(d: VideosData | undefined, ev: IngestEvent): VideosData | undefined {
  const videos = d?.workspace?.videos;
  if (!d || !videos) return d;
  return {
    workspace: {
      videos: {
        ...videos,
        edges: videos.edges.map((e) =>
          e.node.id === ev.videoId ? { node: { ...e.node, status: videoStatusOf(ev.status) } } : e,
        ),
      },
    },
  };
}
