import { describe, expect, it } from "vitest";
import { formatTime, snippetParts, stepLabel, videoStatusOf } from "./format";

describe("snippetParts", () => {
  it.each([
    ["no marks", "plain text", [{ text: "plain text", match: false }]],
    [
      "marks in the middle",
      "our «refund» «policy» applies",
      [
        { text: "our ", match: false },
        { text: "refund", match: true },
        { text: " ", match: false },
        { text: "policy", match: true },
        { text: " applies", match: false },
      ],
    ],
    ["mark at the start", "«REFUND» 42", [{ text: "REFUND", match: true }, { text: " 42", match: false }]],
    ["unbalanced mark is dropped", "a «b", [{ text: "a b", match: false }]],
  ])("%s", (_name, input, want) => {
    expect(snippetParts(input)).toEqual(want);
  });
});

describe("formatTime", () => {
  it.each([
    [0, "0:00"],
    [4.96, "0:04"],
    [75.4, "1:15"],
    [3725, "1:02:05"],
    [-3, "0:00"],
  ])("%d → %s", (s, want) => expect(formatTime(s)).toBe(want));
});

it("labels steps and maps whole-video events", () => {
  expect(stepLabel("embed_text")).toBe("Embed text");
  expect(videoStatusOf("RUNNING")).toBe("PROCESSING");
  expect(videoStatusOf("SUCCEEDED")).toBe("SUCCEEDED");
});
