package main

import (
	"context"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/pipelines/dm"
	"github.com/rationhq/ration/processor"
)

func TestDeadListReplayPurge(t *testing.T) {
	r := newDMRig(t)
	letter := func(key string) *kgo.Record {
		return &kgo.Record{Topic: dm.New().DeadTopic(dm.StageCheck), Key: []byte(key), Value: []byte("not avro"), Headers: []kgo.RecordHeader{
			{Key: processor.HeaderDeadStage, Value: []byte("check")},
			{Key: processor.HeaderDeadError, Value: []byte("cannot decode")},
			{Key: processor.HeaderDeadTopic, Value: []byte(dm.TopicChecks)},
		}}
	}
	if err := r.kafka.Client.ProduceSync(context.Background(), letter("u1"), letter("u2")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	out, _, err := r.runCommand(t, "", "dead", "list")
	if err != nil || !strings.Contains(out, "u1") || !strings.Contains(out, "cannot decode") || strings.Count(out, "\n") != 3 {
		t.Fatalf("dead list: %v\n%s", err, out)
	}
	out, _, err = r.runCommand(t, "", "dead", "replay", "--dry-run")
	if err != nil || !strings.Contains(out, "dry run: 2 dead letters of dm would be replayed") {
		t.Fatalf("dead replay --dry-run: %v\n%s", err, out)
	}
	out, _, err = r.runCommand(t, "", "dead", "replay")
	if err != nil || !strings.Contains(out, "2 dead letters of dm: 2 replayed, 2 purged") {
		t.Fatalf("dead replay: %v\n%s", err, out)
	}
	if back := r.kafka.Read(t, dm.TopicChecks, 2); string(back[0].Value) != "not avro" {
		t.Fatalf("replayed %q", back[0].Value)
	}
	out, _, err = r.runCommand(t, "", "dead", "purge")
	if err != nil || !strings.Contains(out, "0 dead letters of dm") {
		t.Fatalf("dead purge of an empty topic: %v\n%s", err, out)
	}
}
