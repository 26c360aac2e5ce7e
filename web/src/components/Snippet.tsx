import { snippetParts } from "../format";

/** A search snippet with its matched words («…» in the API) highlighted. */
export function Snippet({ text }: { text: string }) {
  return (
    <p className="snippet">
      {snippetParts(text).map((p, i) => (p.match ? <mark key={i}>{p.text}</mark> : <span key={i}>{p.text}</span>))}
    </p>
  );
}
