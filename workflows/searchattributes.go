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
	}
}
