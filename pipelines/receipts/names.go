package receipts

// Name is the pipeline's name: in its topics, events, metrics, commands
// (ration worker receipts) and HTTP paths (/v1/receipts).
const Name = "receipts"

// The pipeline's topics, all keyed by receipt id but the types'.
const (
	// TopicTypes holds the receipt types in force (compacted, key: name).
	TopicTypes = "ration.receipts.types"
	// TopicReceived holds every receipt the API accepted.
	TopicReceived = "ration.receipts.received"
	// TopicTaxed holds the receipts the tax office registered.
	TopicTaxed = "ration.receipts.taxed"
	// TopicRegistered holds the receipts both services registered: the
	// accepted ones.
	TopicRegistered = "ration.receipts.registered"
	// TopicRejected holds the receipts a service refused, with why.
	TopicRejected = "ration.receipts.rejected"
	// TopicStatuses holds each receipt's status after every change, from
	// the status view (compacted).
	TopicStatuses = "ration.receipts.statuses"
	// TopicTotals holds the running totals of accepted receipts, from the
	// totals view (compacted).
	TopicTotals = "ration.receipts.totals"
)

// The pipeline's stages and view.
const (
	// StageTax registers receipts with the tax office.
	StageTax = "tax"
	// StageLogistics registers taxed receipts with the logistics service.
	StageLogistics = "logistics"
	// ViewStatus folds the path's records and events into each receipt's
	// status.
	ViewStatus = "status"
	// ViewTotals adds accepted receipts to the analytics' running totals.
	ViewTotals = "totals"
)
