// The API's documents and the shapes this app reads from them.

export type Role = "OWNER" | "ADMIN" | "MEMBER" | "VIEWER";
export type VideoStatus = "UPLOADING" | "QUEUED" | "PROCESSING" | "SUCCEEDED" | "FAILED" | "CANCELLED";
export type IngestStatus = "QUEUED" | "RUNNING" | "RETRYING" | "SUCCEEDED" | "FAILED" | "CANCELLED" | "SKIPPED";
export type Modality = "SPEECH" | "VISUAL" | "TEXT";

export interface WorkspaceRef {
  id: string;
  name: string;
  role: Role;
  personal: boolean;
}

export interface Me {
  id: string;
  email: string;
  name: string;
  workspaces: WorkspaceRef[];
}

export interface VideoSummary {
  id: string;
  title: string;
  status: VideoStatus;
  durationSeconds: number | null;
  createdAt: string;
  thumbnailUrl: string | null;
  error: string | null;
}

export interface IngestStep {
  name: string;
  status: IngestStatus;
  progress: number;
  attempts: number;
  error: string | null;
  message: string | null;
}

export interface VideoDetail extends VideoSummary {
  workspaceID: string;
  failedStep: string | null;
  url: string;
  steps: IngestStep[];
  keyframes: { time: number; url: string; width: number; height: number }[];
  ocr: { time: number; text: string }[];
  transcript: { model: string; fallback: boolean; segments: { start: number; end: number; text: string }[] } | null;
}

export interface IngestEvent {
  videoId: string;
  step: string | null;
  status: IngestStatus;
  progress: number;
  message: string | null;
  at: string;
}

export interface SearchHit {
  video: { id: string; title: string };
  start: number;
  end: number;
  score: number;
  modalities: Modality[];
  snippet: string | null;
  thumbnailUrl: string | null;
}

const AUTH_FIELDS = `accessToken accessTokenExpiresAt refreshToken`;

export const SIGNUP = `mutation Signup($input: SignupInput!) { signup(input: $input) { ${AUTH_FIELDS} } }`;
export const LOGIN = `mutation Login($input: LoginInput!) { login(input: $input) { ${AUTH_FIELDS} } }`;
export const LOGOUT = `mutation Logout($t: String!) { logout(refreshToken: $t) }`;

export const ME = `query Me { me { id email name workspaces { id name role personal } } }`;

const SUMMARY = `id title status durationSeconds createdAt thumbnailUrl error`;

export const VIDEOS = `query Videos($id: ID!) {
  workspace(id: $id) {
    id
    videos(first: 60, orderBy: { field: CREATED_AT, direction: DESC }) {
      totalCount
      edges { node { ${SUMMARY} } }
    }
  }
}`;

export const VIDEO = `query Video($id: ID!) {
  video(id: $id) {
    ${SUMMARY} workspaceID failedStep url
    steps { name status progress attempts error message }
    keyframes { time url width height }
    ocr { time text }
    transcript { model fallback segments { start end text } }
  }
}`;

export const RETRY = `mutation Retry($id: ID!) { retryIngest(videoId: $id) { id status } }`;

const EVENT = `videoId step status progress message at`;
export const WORKSPACE_EVENTS = `subscription WorkspaceEvents($id: ID!) { workspaceEvents(workspaceId: $id) { ${EVENT} } }`;
export const INGEST_PROGRESS = `subscription IngestProgress($id: ID!) { ingestProgress(videoId: $id) { ${EVENT} } }`;

export const SEARCH = `query Search($input: SearchInput!) {
  search(input: $input) {
    tookMs
    hits { video { id title } start end score modalities snippet thumbnailUrl }
  }
}`;
