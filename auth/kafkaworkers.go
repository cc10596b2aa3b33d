package auth

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/rationhq/ration/internal/kafkaacl"
)

// KafkaWorkers provisions workers on Kafka itself (internal/kafkaacl:
// SCRAM-SHA-512 users and per-pipeline ACLs) through adm, whose user must
// be allowed to alter the cluster. Its refusals of a name or a pipeline
// come back as ErrInvalid. pipelines are the grants of each pipeline's
// workers (pipeline.Grants).
func KafkaWorkers(adm *kadm.Client, pipelines kafkaacl.Pipelines) WorkerProvisioner {
	return kafkaWorkers{kafkaacl.NewProvisioner(adm, pipelines)}
}

type kafkaWorkers struct{ p *kafkaacl.Provisioner }

var _ WorkerProvisioner = kafkaWorkers{}

func (k kafkaWorkers) CreateWorker(ctx context.Context, name, pipeline string) (string, string, error) {
	u, p, err := k.p.CreateWorker(ctx, name, pipeline)
	return u, p, invalid(err)
}

func (k kafkaWorkers) RevokeWorker(ctx context.Context, name string) error {
	return invalid(k.p.RevokeWorker(ctx, name))
}

func invalid(err error) error {
	if errors.Is(err, kafkaacl.ErrInvalidName) || errors.Is(err, kafkaacl.ErrUnknownPipeline) {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return err
}
