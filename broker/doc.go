// Package broker runs ration's embedded Kafka broker and schema registry in
// process: franz-go's kfake speaks the Kafka protocol, srfake the Confluent
// Schema Registry API. `ration broker` and `ration dev` serve them to other
// processes; tests of other packages start one per test (see brokertest).
//
// # Persistence
//
// With a DataDir, kfake keeps topics, records, committed group offsets,
// transactions and static group members in DataDir/kafka, and the listen
// ports picked for port 0 are kept in DataDir/addresses.json, so clients and
// their configs keep working across a restart. Without a DataDir everything
// lives in memory and disappears on Close.
//
// # Schema ids that survive restarts
//
// srfake keeps schemas in memory only. The broker journals every new
// registration (subject, version, id, schema) to the compacted topic
// _schemas on its own Kafka before the HTTP answer goes out, in the record
// format Confluent's registry uses, and replays that topic into srfake at
// start-up. An id a client was given therefore means the same schema after
// any restart, and new schemas get ids above every journaled one.
//
// Deleting subjects or versions is refused: a compacted journal that is
// replayed into srfake cannot reproduce deletes and later re-registrations
// faithfully, and ids must never change meaning. Compatibility and mode
// settings are served by srfake but not journaled; they reset on restart.
package broker
