import type { IngestStep } from "../api/queries";
import { stepLabel } from "../format";
import { StatusBadge } from "./StatusBadge";

/** The pipeline's steps in order, each with its status and progress. */
export function StepList({ steps }: { steps: IngestStep[] }) {
  if (steps.length === 0) return <p className="hint">Waiting for the pipeline to start.</p>;
  return (
    <ol className="step-list" aria-label="Pipeline steps">
      {steps.map((s) => (
        <li key={s.name} data-step={s.name} data-status={s.status}>
          <div className="step-head">
            <span>{stepLabel(s.name)}</span>
            <StatusBadge status={s.status} />
          </div>
          {(s.status === "RUNNING" || s.status === "RETRYING") && (
            <progress max={1} value={s.progress} aria-label={`${stepLabel(s.name)} progress`} />
          )}
          {s.error && <p className="step-error">{s.error}</p>}
          {!s.error && s.message && <p className="hint">{s.message}</p>}
        </li>
      ))}
    </ol>
  );
}
