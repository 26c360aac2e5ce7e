package search_test

import (
	"testing"

	"github.com/vindex/vindex/internal/apitest"
)

func TestMain(m *testing.M) { apitest.Main(m) }
