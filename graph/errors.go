package graph

import (
	"context"
	"errors"
	"log/slog"
	"runtime/debug"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/vindex/vindex/ent"
	"github.com/vindex/vindex/ent/privacy"
	"github.com/vindex/vindex/ent/schema/pulid"
	"github.com/vindex/vindex/ent/schema/viewer"
	"github.com/vindex/vindex/internal/apperr"
)

// presentError is the one place errors become GraphQL errors: every error
// leaves with an extensions.code, and only messages written for clients
// (apperr) are shown as they are; anything unexpected is logged and shown as
// INTERNAL without detail.
func presentError(log *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		gqlErr := graphql.DefaultErrorPresenter(ctx, err)
		if gqlErr.Extensions == nil {
			gqlErr.Extensions = map[string]any{}
		}
		set := func(code apperr.Code, msg string) *gqlerror.Error {
			gqlErr.Message = msg
			gqlErr.Extensions["code"] = string(code)
			return gqlErr
		}
		var appErr *apperr.Error
		switch {
		case errors.As(err, &appErr):
			if appErr.Field != "" {
				gqlErr.Extensions["field"] = appErr.Field
			}
			if appErr.RetryAfter > 0 {
				gqlErr.Extensions["retryAfterSeconds"] = int(appErr.RetryAfter.Seconds() + 0.999)
			}
			if appErr.Code == apperr.Internal {
				log.ErrorContext(ctx, "request failed", "err", err, "path", gqlErr.Path.String())
			}
			return set(appErr.Code, appErr.Message)
		case ent.IsNotFound(err):
			return set(apperr.NotFound, "not found")
		case errors.Is(err, privacy.Deny):
			if viewer.FromContext(ctx) == nil {
				return set(apperr.Unauthenticated, "sign in first")
			}
			return set(apperr.Forbidden, "not allowed")
		case ent.IsConstraintError(err):
			return set(apperr.Conflict, "conflicts with an existing object")
		case ent.IsValidationError(err):
			return set(apperr.BadUserInput, err.(*ent.ValidationError).Unwrap().Error())
		case errors.Is(err, pulid.ErrInvalid):
			return set(apperr.BadUserInput, gqlErr.Message)
		}
		// Errors gqlgen raises itself: unparsable or invalid documents, inputs
		// that do not coerce, limits. Their messages are written for clients.
		if code, ok := gqlErr.Extensions["code"].(string); ok {
			switch code {
			case errcode.ParseFailed, errcode.ValidationFailed, "COMPLEXITY_LIMIT_EXCEEDED", "PERSISTED_QUERY_NOT_FOUND":
				gqlErr.Extensions["reason"] = code
				gqlErr.Extensions["code"] = string(apperr.BadUserInput)
				return gqlErr
			case string(apperr.NotFound):
				// entgql's "Could not resolve to a node" from nodes(ids).
				return gqlErr
			}
		}
		var unwrapped *gqlerror.Error
		if errors.As(err, &unwrapped) && unwrapped.Err == nil {
			// A plain gqlerror with no cause is a refused request: argument
			// coercion (a bad enum, a wrong type) at the field's path, or at no
			// path a body that cannot be read (not JSON, over the size limit)
			// or the depth limit.
			return set(apperr.BadUserInput, gqlErr.Message)
		}
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return set(apperr.Internal, "the request was cancelled or timed out")
		}
		log.ErrorContext(ctx, "request failed", "err", err, "path", gqlErr.Path.String())
		return set(apperr.Internal, "internal error")
	}
}

// recoverPanic keeps a panicking resolver from taking the server down: it
// logs the stack and answers INTERNAL.
func recoverPanic(log *slog.Logger) graphql.RecoverFunc {
	return func(ctx context.Context, p any) error {
		log.ErrorContext(ctx, "resolver panic", "panic", p, "stack", string(debug.Stack()))
		return apperr.New(apperr.Internal, "internal error")
	}
}
