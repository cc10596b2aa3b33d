package receipts

import "testing"

func TestDescriptorIsValid(t *testing.T) {
	if err := New().Validate(); err != nil {
		t.Fatal(err)
	}
}
