import { useEffect, useRef, type FormEvent } from "react";
import { Link, useSearchParams } from "react-router-dom";
import { request } from "../api/client";
import { SEARCH, type Modality, type SearchHit } from "../api/queries";
import { useAuth } from "../auth";
import { Empty, ErrorNotice, Loading } from "../components/Notice";
import { Snippet } from "../components/Snippet";
import { formatTime } from "../format";
import { useQuery } from "../useQuery";

const modalityLabel: Record<Modality, string> = { SPEECH: "Speech", VISUAL: "Visual", TEXT: "On-screen text" };

/** One box; the query lives in ?q= so results can be shared and reloaded. */
export function SearchPage() {
  const { workspace } = useAuth();
  const [params, setParams] = useSearchParams();
  const query = params.get("q")?.trim() ?? "";
  const input = useRef<HTMLInputElement>(null);
  const wsId = workspace!.id;
  const q = useQuery(
    (signal) =>
      query
        ? request<{ search: { hits: SearchHit[]; tookMs: number } }>(SEARCH, { input: { workspaceId: wsId, query } }, signal)
        : Promise.resolve(undefined),
    [wsId, query],
  );

  useEffect(() => {
    if (input.current && input.current.value !== query) input.current.value = query;
  }, [query]);

  const onSubmit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const v = input.current?.value.trim() ?? "";
    setParams(v ? { q: v } : {});
  };

  const hits = q.data?.search.hits;
  return (
    <section aria-labelledby="search-title">
      <h1 id="search-title">Search</h1>
      <form role="search" className="search-form" onSubmit={onSubmit}>
        <label htmlFor="q">Describe the moment you are looking for</label>
        <div className="search-row">
          <input id="q" ref={input} name="q" type="search" defaultValue={query} autoFocus placeholder="e.g. the slide about refunds" />
          <button type="submit">Search</button>
        </div>
      </form>
      {q.error && <ErrorNotice error={q.error} onRetry={q.reload} />}
      {query && q.loading && <Loading label="Searching…" />}
      {!q.loading && hits && hits.length === 0 && (
        <Empty title="No moments found">
          <p>Try other words, or check that your videos have finished processing.</p>
        </Empty>
      )}
      {!q.loading && hits && hits.length > 0 && (
        <>
          <p className="hint" role="status">
            {hits.length} {hits.length === 1 ? "moment" : "moments"} in {Math.round(q.data!.search.tookMs)} ms
          </p>
          <ol className="hits" aria-label="Results">
            {hits.map((h) => (
              <li key={`${h.video.id}-${h.start}`} className="hit">
                <Link to={`/videos/${h.video.id}?t=${h.start}`} data-start={h.start}>
                  {h.thumbnailUrl ? (
                    <img src={h.thumbnailUrl} alt="" loading="lazy" />
                  ) : (
                    <div className="thumb-placeholder" aria-hidden="true" />
                  )}
                  <span className="hit-body">
                    <span className="hit-title">{h.video.title}</span>
                    <span className="hit-time">
                      {formatTime(h.start)}–{formatTime(h.end)}
                    </span>
                    <span className="hit-modalities">{h.modalities.map((m) => modalityLabel[m]).join(" · ")}</span>
                  </span>
                </Link>
                {h.snippet && <Snippet text={h.snippet} />}
              </li>
            ))}
          </ol>
        </>
      )}
    </section>
  );
}
