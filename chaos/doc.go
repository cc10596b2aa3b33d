// Package chaos runs `ration chaos`: the whole stack as separate
// processes of the ration binary under steady load while faults are
// injected on a schedule, then checks that every promise held.
//
// # The stack
//
// Every role runs as its own process (stack.go): the broker on a data dir,
// two APIs each behind a proxy that can cut connections (package netcut),
// the sink, the reprocessor, workers of every pipeline and the three
// simulators; ClickHouse is a local server (internal/chserver). Ports are
// chosen once, so a restarted process keeps its address, and every role
// authenticates to Kafka as the broker's admin user.
//
// # Load
//
// Each pipeline gets Rate requests a second, spread over both APIs: DM
// registers and marks a new user per request (one mark, so one result);
// receipts are submitted, and sent again until answered (a receipt id is
// taken once); points commands are bench's (package bench, PointsLoad).
//
// # Faults
//
// Plan derives the schedule from the seed alone, so a failing run can be
// replayed with its seed. Each fault ends with the process running again:
// kill -9 and restart of a worker, an API, the sink, the reprocessor, the
// broker or ClickHouse; a cut of every client connection; a worker stopped
// past its session timeout and resumed (a zombie); a simulator's outage or
// slow, reply-losing spell through its /admin/faults.
//
// # Checks
//
// After the load and the faults stop, the stack drains and each checker
// waits for it: every acknowledged DM mark ends checked, parked or failed
// with one committed result and the API's stats agree with Kafka; every
// acknowledged receipt ends ACCEPTED or REJECTED, each accepted one
// registered once with each simulator; the points ledger is the same in
// the answers, in Kafka and in ClickHouse, decided once per command and
// never negative (checked as outcomes arrive, too). Since each checker
// counts from the run's first write to its end, a write acknowledged and
// lost to any restart is a violation.
package chaos
