import { useState, type FormEvent } from "react";
import { request } from "../api/client";
import { SEARCH, type Modality, type SearchHit } from "../api/queries";
import { formatTime } from "../format";
import { ErrorNotice, Loading } from "./Notice";
import { Snippet } from "./Snippet";

const modalityLabel: Record<Modality, string> = { SPEECH: "Speech", VISUAL: "Visual", TEXT: "On-screen text" };

type Result = { query: string; hits: SearchHit[] };

/** Search within one video; each moment found seeks the player. */
export function VideoSearch({ workspaceId, videoId, onSeek }: { workspaceId: string; videoId: string; onSeek: (t: number) => void }) {
  const [query, setQuery] = useState("");
  const [result, setResult] = useState<Result>();
  const [error, setError] = useState<Error>();
  const [loading, setLoading] = useState(false);

  const onSubmit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const text = query.trim();
    if (!text) return;
    setLoading(true);
    setError(undefined);
    try {
      const d = await request<{ search: { hits: SearchHit[] } }>(SEARCH, { input: { workspaceId, videoId, query: text } });
      // Time order reads like a table of contents of the video.
      setResult({ query: text, hits: [...d.search.hits].sort((a, b) => a.start - b.start) });
    } catch (err) {
      setError(err as Error);
    } finally {
      setLoading(false);
    }
  };

  return (
    <section aria-labelledby="in-video-title" className="in-video">
      <h2 id="in-video-title">Find in this video</h2>
      <form role="search" aria-label="In this video" onSubmit={(e) => void onSubmit(e)}>
        <label htmlFor="in-video-q" className="visually-hidden">
          Search this video
        </label>
        <div className="search-row">
          <input
            id="in-video-q"
            type="search"
            value={query}
            onChange={(e) => setQuery(e.target.value)}
            placeholder="What is said or shown…"
          />
          <button type="submit" disabled={loading || !query.trim()}>
            Find
          </button>
        </div>
      </form>
      {error && <ErrorNotice error={error} />}
      {loading && <Loading label="Searching…" />}
      {!loading && result && (
        <>
          <p className="hint" role="status">
            {result.hits.length === 0
              ? `No moments match “${result.query}”.`
              : `${result.hits.length} ${result.hits.length === 1 ? "moment" : "moments"} for “${result.query}”`}
          </p>
          {result.hits.length > 0 && (
            <ol className="transcript" aria-label="Moments in this video">
              {result.hits.map((h) => (
                <li key={`${h.start}-${h.end}`}>
                  <button
                    type="button"
                    className="time"
                    data-start={h.start}
                    onClick={() => onSeek(h.start)}
                    aria-label={`Play from ${formatTime(h.start)}`}
                  >
                    {formatTime(h.start)}–{formatTime(h.end)}
                  </button>{" "}
                  <span className="hint">{h.modalities.map((m) => modalityLabel[m]).join(" · ")}</span>
                  {h.snippet && <Snippet text={h.snippet} />}
                </li>
              ))}
            </ol>
          )}
        </>
      )}
    </section>
  );
}
