//go:build crashpoints

package crashpoint

// enabled: built with the crashpoints tag, for the process tests.
const enabled = true
