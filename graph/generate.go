// Package graph is vindex's GraphQL API: the schema in ./schema, thin
// resolvers that call the domain services, and gqlgen's generated executor.
package graph

//go:generate sh -c "cd .. && go tool gqlgen generate"
