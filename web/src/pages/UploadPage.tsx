import { useEffect, useRef, useState, type DragEvent } from "react";
import { Link } from "react-router-dom";
import { useAuth } from "../auth";
import { startUpload } from "../upload";

interface Item {
  key: string;
  name: string;
  size: number;
  sent: number;
  state: "uploading" | "done" | "failed";
  videoId?: string | null;
  error?: string;
}

/** Drop (or pick) several videos; each uploads resumably with its own progress bar. */
export function UploadPage() {
  const { workspace } = useAuth();
  const [items, setItems] = useState<Item[]>([]);
  const [over, setOver] = useState(false);
  const aborts = useRef(new Map<string, () => void>());
  const canUpload = workspace!.role !== "VIEWER";

  useEffect(() => {
    const running = aborts.current;
    return () => running.forEach((abort) => abort());
  }, []);

  const update = (key: string, patch: Partial<Item>) =>
    setItems((list) => list.map((it) => (it.key === key ? { ...it, ...patch } : it)));

  const add = (files: FileList | null) => {
    if (!files) return;
    for (const file of Array.from(files)) {
      const key = `${file.name}-${file.size}-${file.lastModified}-${Math.random().toString(36).slice(2)}`;
      setItems((list) => [...list, { key, name: file.name, size: file.size, sent: 0, state: "uploading" }]);
      const { abort } = startUpload(file, workspace!.id, {
        onProgress: (sent) => update(key, { sent }),
        onSuccess: (videoId) => {
          aborts.current.delete(key);
          update(key, { state: "done", sent: file.size, videoId });
        },
        onError: (error) => {
          aborts.current.delete(key);
          update(key, { state: "failed", error });
        },
      });
      aborts.current.set(key, abort);
    }
  };

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setOver(false);
    add(e.dataTransfer.files);
  };

  return (
    <section aria-labelledby="upload-title">
      <h1 id="upload-title">Upload videos</h1>
      {!canUpload ? (
        <p className="notice" role="status">
          Viewers cannot upload to {workspace!.name}. Ask an admin for the member role.
        </p>
      ) : (
        <label
          className={`dropzone${over ? " over" : ""}`}
          onDragOver={(e) => {
            e.preventDefault();
            setOver(true);
          }}
          onDragLeave={() => setOver(false)}
          onDrop={onDrop}
        >
          <input
            className="visually-hidden"
            type="file"
            accept="video/*"
            multiple
            aria-describedby="drop-hint"
            onChange={(e) => {
              add(e.target.files);
              e.target.value = "";
            }}
          />
          <span className="drop-title">Drop videos here, or choose files</span>
          <span id="drop-hint" className="hint">
            Uploads resume where they stopped: drop the same file again after a lost connection or a reload.
          </span>
        </label>
      )}
      {items.length > 0 && (
        <ul className="uploads" aria-label="Uploads">
          {items.map((it) => (
            <li key={it.key} data-state={it.state}>
              <span className="upload-name">{it.name}</span>
              <progress
                max={it.size || 1}
                value={it.sent}
                aria-label={`Upload of ${it.name}`}
                aria-valuetext={`${Math.round((it.sent / (it.size || 1)) * 100)}%`}
              />
              <span className="upload-state" role={it.state === "failed" ? "alert" : undefined}>
                {it.state === "uploading" && `${Math.round((it.sent / (it.size || 1)) * 100)}%`}
                {it.state === "done" &&
                  (it.videoId ? <Link to={`/videos/${it.videoId}`}>Uploaded — open video</Link> : "Uploaded")}
                {it.state === "failed" && `Failed: ${it.error}`}
              </span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
