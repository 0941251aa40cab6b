package sqlite

import (
	"context"
	"testing"
)

// A query prepared in one round is kept on the writer's connection and
// reused by later rounds instead of being parsed again.
func TestWriterKeepsPreparedStatements(t *testing.T) {
	s, _ := openTemp(t)
	const q = `INSERT INTO meta (key, value) VALUES (?, 'v')`
	var fresh [2][]string
	for i, key := range []string{"first", "second"} {
		err := s.write(context.Background(), func(w *wtx) error {
			_, err := w.exec(q, key)
			fresh[i] = w.fresh
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := metaValue(t, s, key); !ok {
			t.Fatalf("%s was not written", key)
		}
	}
	if !contains(fresh[0], q) {
		t.Errorf("first round did not prepare the query: %v", fresh[0])
	}
	if contains(fresh[1], q) {
		t.Error("second round prepared the query again instead of reusing it")
	}
	if _, ok := s.stmts[q]; !ok {
		t.Error("the query is not in the writer's statement cache")
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
