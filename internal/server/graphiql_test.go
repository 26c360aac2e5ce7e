package server_test

import (
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/internal/apitest"
)

// introspection is graphql-js's getIntrospectionQuery, as GraphiQL sends it:
// its type references nest deeper than the depth limit allows other queries.
const introspection = `query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name
    ofType { kind name ofType { kind name ofType { kind name } } } } } } } }
}`

func TestGraphiQLIsServedFromThisServer(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	page := env.Get(t, "/graphiql", nil)
	require.Equal(t, 200, page.StatusCode)
	body, err := io.ReadAll(page.Body)
	require.NoError(t, err)
	require.Contains(t, string(body), `src="/graphiql/assets/graphiql.min.js"`, "assets from this server, not a CDN")
	for _, asset := range []string{"graphiql.min.js", "graphiql.min.css", "react.production.min.js", "react-dom.production.min.js"} {
		require.Equal(t, 200, env.Get(t, "/graphiql/assets/"+asset, nil).StatusCode, asset)
	}
	require.Equal(t, 404, env.Get(t, "/graphiql/assets/../../go.mod", nil).StatusCode)

	var out struct {
		Schema struct{ Types []struct{ Name string } } `json:"__schema"`
	}
	env.Do(t, "", introspection, nil).Decode(t, &out)
	require.NotEmpty(t, out.Schema.Types)
}
