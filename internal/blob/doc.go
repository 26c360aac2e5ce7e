// Package blob stores vindex's large binary files: uploaded videos (up to
// 10 GiB), keyframe JPEGs, audio WAVs and thumbnails. Everything is streamed;
// no operation holds a whole object in memory.
//
// Two backends implement [Store] and pass the same conformance suite
// (package blobtest):
//
//   - [Local] keeps one file per key under a directory. Put writes to
//     dir/.tmp, fsyncs, and renames into place, so readers see the old file or
//     the whole new one. [Local.Path] hands ffmpeg the file itself.
//   - [S3] talks to any S3-compatible object store through minio-go. Put
//     streams a multipart upload in 16 MiB parts, so an upload of unknown
//     length costs about 18 MiB of memory however large it is: minio-go's
//     one part buffer (its default for unknown lengths would be 528 MiB),
//     up to 1 MiB that Put reads ahead to send small objects in one PUT,
//     and request-signing buffers. The buffers are per upload, not pooled.
//
// [Open] picks a backend from a spec string (VINDEX_BLOB_STORE):
//
//	""  or "local"                        → NewLocal(dataDir/blobs)
//	file:///srv/vindex/blobs              → NewLocal("/srv/vindex/blobs")
//	s3://bucket/prefix?endpoint=host:9000&region=us-east-1&ssl=false
//	                                      → NewS3 (see [ParseS3URL])
//
// Credentials never travel in the spec: they are separate arguments to Open,
// which the caller fills from VINDEX_S3_ACCESS_KEY / VINDEX_S3_SECRET_KEY, so
// a logged spec leaks nothing.
//
// # Keys
//
// A key is 1–512 bytes of [A-Za-z0-9._-] segments joined by "/"; no segment
// is empty, longer than 255 bytes (a file name on most filesystems), or starts
// with "." (which rules out "." and ".." and keeps Local's .tmp out of the key
// space). Anything else fails with [ErrInvalidKey] before touching storage,
// so a key can never name a path outside the store. vindex lays keys out per
// video, "wsp_x/vid_y/source", "wsp_x/vid_y/keyframes/00001.jpg", so that
// DeletePrefix("wsp_x/vid_y/") removes a video.
//
// Because Local maps keys to paths, a key cannot be both an object and a
// prefix of other keys there ("a" and "a/b"); S3 allows it. vindex never
// does it.
//
// # Content types
//
// Put records the content type it is given; with an empty one it derives
// the type from the key's extension (a fixed table, so it does not depend on
// the host's mime.types), falling back to application/octet-stream. S3 keeps
// it as the object's Content-Type. Local keeps it in the file's extended
// attribute user.vindex.content_type, set on the temp file before the rename
// so it changes atomically with the data; on a filesystem without user
// xattrs it is derived from the extension again on read. List leaves
// ContentType empty on both backends, because S3 listings do not carry it;
// use Stat or Open.
//
// # Consistency
//
// An open Local object keeps reading the file it opened, even if the key is
// overwritten or deleted meanwhile. An open S3 object reads the version it
// opened: its first GET answers Open, and each later ranged GET (after a
// Seek) is conditional on that version's ETag, so an overwrite in between
// makes the read fail instead of mixing two versions.
package blob
