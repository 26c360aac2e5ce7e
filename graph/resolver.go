package graph

import (
	"github.com/vindex/vindex/ent"
	"github.com/vindex/vindex/internal/auth"
	"github.com/vindex/vindex/internal/ingest"
	"github.com/vindex/vindex/internal/search"
	"github.com/vindex/vindex/internal/workspace"
)

// Resolver holds the services the resolvers call.
type Resolver struct {
	DB           *ent.Client
	Auth         *auth.Service
	WorkspaceSvc *workspace.Service
	Ingest       *ingest.Service
	Events       *ingest.Hub
	Media        *ingest.URLSigner
	SearchSvc    *search.Service
}
