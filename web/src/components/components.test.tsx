import { render, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { Snippet } from "./Snippet";
import { StatusBadge } from "./StatusBadge";
import { StepList } from "./StepList";

describe("Snippet", () => {
  it("highlights the matched words", () => {
    const { container } = render(<Snippet text="see our «refund» «policy» today" />);
    const marks = Array.from(container.querySelectorAll("mark")).map((m) => m.textContent);
    expect(marks).toEqual(["refund", "policy"]);
    expect(container.textContent).toBe("see our refund policy today");
  });
});

describe("StatusBadge", () => {
  it("says the status in words", () => {
    render(<StatusBadge status="SUCCEEDED" />);
    expect(screen.getByText("Ready").dataset.status).toBe("SUCCEEDED");
  });
});

describe("StepList", () => {
  it("shows each step with its status, progress while running, and errors", () => {
    render(
      <StepList
        steps={[
          { name: "probe", status: "SUCCEEDED", progress: 1, attempts: 1, error: null, message: null },
          { name: "ocr", status: "RUNNING", progress: 0.4, attempts: 1, error: null, message: null },
          { name: "transcribe", status: "FAILED", progress: 0, attempts: 3, error: "decoder crashed", message: null },
          { name: "audio", status: "SKIPPED", progress: 0, attempts: 1, error: null, message: "no audio stream" },
        ]}
      />,
    );
    const items = within(screen.getByRole("list", { name: "Pipeline steps" })).getAllByRole("listitem");
    expect(items.map((li) => li.dataset.status)).toEqual(["SUCCEEDED", "RUNNING", "FAILED", "SKIPPED"]);
    const bar = screen.getByRole("progressbar", { name: "Ocr progress" }) as HTMLProgressElement;
    expect(bar.value).toBeCloseTo(0.4);
    expect(screen.getAllByRole("progressbar")).toHaveLength(1);
    expect(screen.getByText("decoder crashed")).toBeTruthy();
    expect(screen.getByText("no audio stream")).toBeTruthy();
  });

  it("says when the pipeline has not started", () => {
    render(<StepList steps={[]} />);
    expect(screen.getByText("Waiting for the pipeline to start.")).toBeTruthy();
  });
});
