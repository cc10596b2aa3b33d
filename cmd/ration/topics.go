package main

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/internal/kafkaconn"
)

// ensureTopics creates ration's topics if they are missing. A role whose
// Kafka user may not create topics (a registered worker holds only its
// pipeline's ACLs) relies on the admin having created them at bootstrap.
func ensureTopics(ctx context.Context, kafka kafkaconn.Config, g *globals) error {
	cl, err := kgo.NewClient(kafka.Opts(g.log)...)
	if err != nil {
		return err
	}
	defer cl.Close()
	err = kafka.EnsureTopics(ctx, cl)
	if errors.Is(err, kerr.TopicAuthorizationFailed) || errors.Is(err, kerr.ClusterAuthorizationFailed) {
		g.log.Debug("not allowed to create topics; the admin creates them", "user", kafka.User, "err", err)
		return nil
	}
	return err
}
