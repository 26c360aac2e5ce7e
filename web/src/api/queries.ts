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

export type TokenScope = "READ" | "WRITE" | "ADMIN";

export interface APIToken {
  id: string;
  name: string;
  prefix: string;
  scopes: TokenScope[];
  createdAt: string;
  lastUsedAt: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
}

const TOKEN = `id name prefix scopes createdAt lastUsedAt expiresAt revokedAt`;

export const API_TOKENS = `query APITokens($id: ID!) {
  workspace(id: $id) {
    id
    apiTokens(first: 100, orderBy: { field: CREATED_AT, direction: DESC }) { edges { node { ${TOKEN} } } }
  }
}`;
export const CREATE_API_TOKEN = `mutation CreateAPIToken($input: CreateAPITokenInput!) {
  createAPIToken(input: $input) { secret token { ${TOKEN} } }
}`;
export const REVOKE_API_TOKEN = `mutation RevokeAPIToken($id: ID!) { revokeAPIToken(id: $id) { ${TOKEN} } }`;

export interface Member {
  id: string;
  role: Role;
  createdAt: string;
  user: { id: string; email: string; name: string };
}

const MEMBER = `id role createdAt user { id email name }`;

export const MEMBERS = `query Members($id: ID!) {
  workspace(id: $id) {
    id
    members(first: 100, orderBy: { field: CREATED_AT, direction: ASC }) { edges { node { ${MEMBER} } } }
  }
}`;
export const ADD_MEMBER = `mutation AddMember($input: AddMemberInput!) { addMember(input: $input) { ${MEMBER} } }`;
export const UPDATE_MEMBER = `mutation UpdateMember($input: UpdateMemberInput!) { updateMember(input: $input) { ${MEMBER} } }`;
export const REMOVE_MEMBER = `mutation RemoveMember($id: ID!) { removeMember(id: $id) }`;

export const CANCEL_INGEST = `mutation CancelIngest($id: ID!) { cancelIngest(videoId: $id) { id status } }`;
export const REINDEX_VIDEO = `mutation ReindexVideo($id: ID!) { reindexVideo(id: $id) { id status } }`;
