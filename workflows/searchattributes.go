package workflows

import (
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
)

// Typed search attribute keys. They hold only IDs, enums and times, never names or emails.
var (
	KeyGenesysUserID  = temporal.NewSearchAttributeKeyKeyword(SAGenesysUserID)
	KeyStage          = temporal.NewSearchAttributeKeyKeyword(SAStage)
	KeyDisposition    = temporal.NewSearchAttributeKeyKeyword(SADisposition)
	KeyRequestedBy    = temporal.NewSearchAttributeKeyKeyword(SARequestedBy)
	KeyRetentionUntil = temporal.NewSearchAttributeKeyTime(SARetentionUntil)
	KeyBatchID        = temporal.NewSearchAttributeKeyKeyword(SABatchID)
)

// SearchAttributes lists the custom search attributes a namespace must have registered before an
// Offboarding starts; an unregistered one makes workflow tasks fail.
func SearchAttributes() map[string]enumspb.IndexedValueType {
	return map[string]enumspb.IndexedValueType{
		SAGenesysUserID:  enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		SAStage:          enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		SADisposition:    enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		SARequestedBy:    enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		SARetentionUntil: enumspb.INDEXED_VALUE_TYPE_DATETIME,
		SABatchID:        enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	}
}

// requestSearchAttributes are the search attributes that the request alone decides.
func requestSearchAttributes(req Request) []temporal.SearchAttributeUpdate {
	attrs := []temporal.SearchAttributeUpdate{
		KeyGenesysUserID.ValueSet(req.UserID),
		KeyDisposition.ValueSet(string(req.Disposition)),
		KeyRequestedBy.ValueSet(req.RequestedBy),
	}
	if req.Batch != nil {
		attrs = append(attrs, KeyBatchID.ValueSet(req.Batch.ID))
	}
	return attrs
}

// StartSearchAttributes are the search attributes to set when starting req: IDs and enums
// only, and the first stage. The workflow upserts the same values when it starts, so that the
// run is found by them even if a starter set none.
func StartSearchAttributes(req Request) temporal.SearchAttributes {
	return temporal.NewSearchAttributes(append(requestSearchAttributes(req), KeyStage.ValueSet(string(StageChecking)))...)
}
