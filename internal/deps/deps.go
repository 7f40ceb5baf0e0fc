package deps

import (
	_ "github.com/jarcoal/httpmock"
	_ "github.com/skip2/go-qrcode"
	_ "github.com/stretchr/testify/require"
	_ "go.uber.org/goleak"
)
