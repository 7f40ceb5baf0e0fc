package wechat

import "strconv"

// Progress reports how far a long operation has come: an upload, a download, or the loading
// of the address book. The function given to [WithProgress] receives it.
type Progress struct {
	Kind ProgressKind
	// Name is the file name of an upload, as uploaded, or of a download ([Media.FileName]);
	// it is empty for contacts and groups.
	Name string
	// To is the chat an upload is sent to; MsgID the message whose media a download is (empty
	// for an avatar).
	To, MsgID string
	// Done is how far the operation has come: the bytes the server has acknowledged
	// (upload) or the caller has read (download), the contacts received, the groups whose
	// members were fetched.
	Done int64
	// Total is what Done is at the end, or -1 while it is not known: a download whose size
	// the server did not say, the contacts before their last page. The last report of an
	// operation that completes has Done == Total.
	Total int64
}

// ProgressKind says what a [Progress] is about.
type ProgressKind int

const (
	// ProgressUpload is a file uploaded (webwxuploadmedia, PROTOCOL 9.1) by SendImage,
	// SendFile, Send, a reply, ...: reported once before the first chunk (Done 0), then
	// after each 512 KiB chunk the server has acknowledged. A file the server has already
	// (webwxcheckupload, PROTOCOL 9.2) is reported done at once.
	ProgressUpload ProgressKind = iota + 1
	// ProgressDownload is a [Media] being read: reported after each Read that returned
	// bytes, and at its end (io.EOF), when Total becomes Done.
	ProgressDownload
	// ProgressContacts is the address book loading (webwxgetcontact pages, PROTOCOL 5.3),
	// by Run in the background or by [Client.Refresh]: Done counts the contacts received,
	// reported after each page; Total is -1 until the last page.
	ProgressContacts
	// ProgressGroups follows ProgressContacts: the groups' member lists fetched
	// (webwxbatchgetcontact, 50 groups per request, PROTOCOL 5.4): Done of Total groups.
	ProgressGroups
)

var progressKindNames = [...]string{"", "upload", "download", "contacts", "groups"}

// String returns "upload", "download", "contacts" or "groups", or "ProgressKind(n)".
func (k ProgressKind) String() string {
	if k > 0 && int(k) < len(progressKindNames) {
		return progressKindNames[k]
	}
	return "ProgressKind(" + strconv.Itoa(int(k)) + ")"
}

// WithProgress makes the Client report the progress of every upload, download and loading
// of the address book to f, so that a long one can show a progress bar; the examples/media
// program draws one. f is called from the goroutine doing the work: the one of the send
// (uploads), the one reading the [Media] (downloads), Run's contact loader or the caller of
// [Client.Refresh] (contacts). The reports of one operation come in order, from one
// goroutine at a time; those of different operations may come concurrently, so f must be
// safe for concurrent use, and should return quickly: the operation waits for it. A nil f,
// the default, reports nothing.
func WithProgress(f func(Progress)) Option {
	return func(c *config) { c.progress = f }
}

// report calls the WithProgress function, if any.
func (c *Client) report(p Progress) {
	if f := c.cfg.progress; f != nil {
		f(p)
	}
}
