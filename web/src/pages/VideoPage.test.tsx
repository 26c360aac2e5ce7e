import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { SearchHit, VideoDetail, VideoStatus } from "../api/queries";
import { setSession } from "../api/session";
import { closeSubscriptions } from "../api/ws";
import { fakeVindex, me, renderSignedIn } from "../test/fakeVindex";
import { VideoPage } from "./VideoPage";

function video(status: VideoStatus): VideoDetail {
  return {
    id: "v1",
    title: "town hall.mp4",
    status,
    durationSeconds: 60,
    createdAt: "2026-01-01T00:00:00Z",
    thumbnailUrl: null,
    error: null,
    workspaceID: "w1",
    failedStep: null,
    url: "/media/v1.mp4",
    steps: [],
    keyframes: [],
    ocr: [],
    transcript: null,
  };
}

const hit = (start: number, snippet: string): SearchHit => ({
  video: { id: "v1", title: "town hall.mp4" },
  start,
  end: start + 5,
  score: 0.8,
  modalities: ["TEXT"],
  snippet,
  thumbnailUrl: null,
});

describe("VideoPage", () => {
  beforeEach(() => {
    localStorage.clear();
    // jsdom has no media playback.
    vi.spyOn(HTMLMediaElement.prototype, "play").mockResolvedValue(undefined);
  });
  afterEach(() => {
    closeSubscriptions();
    vi.unstubAllGlobals();
    vi.restoreAllMocks();
    setSession(null);
  });

  it("searches within the video and seeks the player to a moment", async () => {
    const user = userEvent.setup();
    const calls = fakeVindex(me("MEMBER"), {
      Video: () => ({ video: video("SUCCEEDED") }),
      Search: () => ({ search: { tookMs: 3, hits: [hit(42, "our «refund» policy"), hit(7, "«refunds» start")] } }),
    });
    renderSignedIn("/videos/v1", "videos/:id", <VideoPage />);

    await user.type(await screen.findByLabelText("Search this video"), "refund{Enter}");

    expect(await screen.findByText("2 moments for “refund”")).toBeTruthy();
    expect(calls.find((c) => c.operation === "Search")?.variables).toEqual({ input: { workspaceId: "w1", videoId: "v1", query: "refund" } });
    const moments = screen.getAllByRole("button", { name: /^Play from/ });
    expect(moments.map((b) => b.dataset.start)).toEqual(["7", "42"]);

    await user.click(screen.getByRole("button", { name: "Play from 0:42" }));
    const player = screen.getByLabelText("Video: town hall.mp4") as HTMLVideoElement;
    expect(player.currentTime).toBe(42);
  });

  it("says when nothing in the video matches", async () => {
    const user = userEvent.setup();
    fakeVindex(me("MEMBER"), {
      Video: () => ({ video: video("SUCCEEDED") }),
      Search: () => ({ search: { tookMs: 3, hits: [] } }),
    });
    renderSignedIn("/videos/v1", "videos/:id", <VideoPage />);
    await user.type(await screen.findByLabelText("Search this video"), "penguins{Enter}");
    expect(await screen.findByText("No moments match “penguins”.")).toBeTruthy();
  });

  it("cancels processing", async () => {
    const user = userEvent.setup();
    vi.spyOn(window, "confirm").mockReturnValue(true);
    let status: VideoStatus = "PROCESSING";
    const calls = fakeVindex(me("MEMBER"), {
      Video: () => ({ video: video(status) }),
      CancelIngest: () => {
        status = "CANCELLED";
        return { cancelIngest: { id: "v1", status } };
      },
    });
    renderSignedIn("/videos/v1", "videos/:id", <VideoPage />);

    expect(screen.queryByRole("button", { name: "Reindex" })).toBeNull();
    await user.click(await screen.findByRole("button", { name: "Cancel processing" }));

    await waitFor(() => expect(screen.queryByRole("button", { name: "Cancel processing" })).toBeNull());
    expect(screen.getByText("Cancelled")).toBeTruthy();
    expect(calls.filter((c) => c.operation === "CancelIngest")).toEqual([{ operation: "CancelIngest", variables: { id: "v1" } }]);
  });

  it("reindexes a finished video", async () => {
    const user = userEvent.setup();
    let status: VideoStatus = "SUCCEEDED";
    const calls = fakeVindex(me("MEMBER"), {
      Video: () => ({ video: video(status) }),
      ReindexVideo: () => {
        status = "QUEUED";
        return { reindexVideo: { id: "v1", status } };
      },
    });
    renderSignedIn("/videos/v1", "videos/:id", <VideoPage />);

    expect(screen.queryByRole("button", { name: "Cancel processing" })).toBeNull();
    await user.click(await screen.findByRole("button", { name: "Reindex" }));

    await screen.findByRole("button", { name: "Cancel processing" });
    expect(calls.some((c) => c.operation === "ReindexVideo" && c.variables.id === "v1")).toBe(true);
  });
});
