package auth

import "context"

// WorkerProvisioner creates and revokes a worker's Kafka credentials
// (SASL/SCRAM-SHA-512) and the ACLs of its pipeline. The registry only
// records that the worker exists; the password lives in Kafka's SCRAM
// store and is returned once, to the caller of CreateWorker.
type WorkerProvisioner interface {
	// CreateWorker gives the worker called name a Kafka user with a fresh
	// random password and the ACLs of pipeline.
	CreateWorker(ctx context.Context, name, pipeline string) (username, password string, err error)
	// RevokeWorker deletes the worker's credentials and ACLs.
	RevokeWorker(ctx context.Context, name string) error
}

// WorkerMechanism is the SASL mechanism of workers' credentials.
const WorkerMechanism = "SCRAM-SHA-512"
