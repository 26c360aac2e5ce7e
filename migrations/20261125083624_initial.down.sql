-- reverse: create index "video_workspace_id_created_at" to table: "videos"
DROP INDEX "video_workspace_id_created_at";
-- reverse: create "videos" table
DROP TABLE "videos";
-- reverse: create index "refreshtoken_family" to table: "refresh_tokens"
DROP INDEX "refreshtoken_family";
-- reverse: create index "refresh_tokens_token_hash_key" to table: "refresh_tokens"
DROP INDEX "refresh_tokens_token_hash_key";
-- reverse: create "refresh_tokens" table
DROP TABLE "refresh_tokens";
-- reverse: create index "membership_workspace_id_user_id" to table: "memberships"
DROP INDEX "membership_workspace_id_user_id";
-- reverse: create index "membership_user_id" to table: "memberships"
DROP INDEX "membership_user_id";
-- reverse: create "memberships" table
DROP TABLE "memberships";
-- reverse: create index "api_tokens_prefix_key" to table: "api_tokens"
DROP INDEX "api_tokens_prefix_key";
-- reverse: create "api_tokens" table
DROP TABLE "api_tokens";
-- reverse: create "workspaces" table
DROP TABLE "workspaces";
-- reverse: create index "users_email_key" to table: "users"
DROP INDEX "users_email_key";
-- reverse: create "users" table
DROP TABLE "users";
