package blob

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
)

// Open opens the store a spec names (VINDEX_BLOB_STORE):
//
//	"" or "local"       NewLocal(dataDir/blobs)
//	file:///abs/dir     NewLocal("/abs/dir")
//	s3://bucket/prefix?endpoint=host:port&region=r&ssl=false
//	                    NewS3 with ParseS3URL's config and the given keys
//
// accessKey and secretKey are used only by s3:// specs, which require them.
// They are arguments rather than part of the URL so that the spec can be
// logged and shown in errors without leaking them.
func Open(ctx context.Context, spec, dataDir, accessKey, secretKey string) (Store, error) {
	switch {
	case spec == "" || spec == "local":
		if dataDir == "" {
			return nil, errors.New("blob store: local store needs a data directory")
		}
		return NewLocal(filepath.Join(dataDir, "blobs"))
	case strings.HasPrefix(spec, "file:"):
		dir, err := parseFileURL(spec)
		if err != nil {
			return nil, err
		}
		return NewLocal(dir)
	case strings.HasPrefix(spec, "s3:"):
		cfg, err := ParseS3URL(spec)
		if err != nil {
			return nil, err
		}
		cfg.AccessKey, cfg.SecretKey = accessKey, secretKey
		return NewS3(ctx, cfg)
	default:
		return nil, fmt.Errorf("blob store %q: want \"local\", file:///dir or s3://bucket", spec)
	}
}

func parseFileURL(spec string) (string, error) {
	u, err := url.Parse(spec)
	if err != nil {
		return "", fmt.Errorf("blob store: %w", urlError(err))
	}
	if u.Host != "" && u.Host != "localhost" || !filepath.IsAbs(u.Path) || u.RawQuery != "" {
		return "", fmt.Errorf("blob store %q: want file:///absolute/dir", spec)
	}
	return filepath.Clean(u.Path), nil
}

// ParseS3URL parses s3://bucket/prefix?endpoint=host:port&region=r&ssl=bool
// into an S3Config without credentials. endpoint defaults to
// s3.amazonaws.com, region to the server's answer, ssl to true; the prefix
// is optional. Other query parameters and user info are errors, so that a
// typo or a pasted secret is caught rather than ignored.
func ParseS3URL(spec string) (S3Config, error) {
	u, err := url.Parse(spec)
	if err != nil {
		return S3Config{}, fmt.Errorf("blob store: %w", urlError(err))
	}
	if u.Scheme != "s3" || u.Opaque != "" {
		return S3Config{}, fmt.Errorf("blob store %q: want s3://bucket/prefix", spec)
	}
	if u.User != nil {
		return S3Config{}, fmt.Errorf("blob store: credentials do not belong in the s3:// URL; pass them separately (VINDEX_S3_ACCESS_KEY, VINDEX_S3_SECRET_KEY)")
	}
	if u.Host == "" {
		return S3Config{}, fmt.Errorf("blob store %q: no bucket", spec)
	}
	cfg := S3Config{Bucket: u.Host, Prefix: strings.Trim(u.Path, "/"), UseSSL: true}
	if cfg.Prefix != "" {
		if err := validateKey(cfg.Prefix); err != nil {
			return S3Config{}, fmt.Errorf("blob store %q: prefix: %w", spec, err)
		}
	}
	for name, vals := range u.Query() {
		if len(vals) != 1 {
			return S3Config{}, fmt.Errorf("blob store %q: %s given %d times", spec, name, len(vals))
		}
		switch v := vals[0]; name {
		case "endpoint":
			cfg.Endpoint = v
		case "region":
			cfg.Region = v
		case "ssl":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return S3Config{}, fmt.Errorf("blob store %q: ssl: %w", spec, err)
			}
			cfg.UseSSL = b
		default:
			return S3Config{}, fmt.Errorf("blob store %q: unknown parameter %q (want endpoint, region, ssl)", spec, name)
		}
	}
	return cfg, nil
}

// urlError drops the URL that url.Parse quotes in its errors: a malformed
// spec may hold a pasted secret.
func urlError(err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return ue.Err
	}
	return err
}
