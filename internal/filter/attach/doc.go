// Package attach inspects a message's attachments for what phishing and
// malware send: programs, scripts, macro documents, disguised names and
// archives that hide them. Inspect takes plain values (a file name, a
// media type, the decoded bytes) and returns findings; Finding is an
// alias of phish.Finding, so the pipeline weighs both alike.
//
// Implemented:
//
//   - Programs by content: PE (an MZ header pointing at "PE\0\0"), ELF,
//     Mach-O (thin and universal); Windows shortcuts ([MS-SHLLINK]) and
//     ISO 9660 images by their magic. By extension: programs (.exe .scr
//     .msi .cab ..., Access applications .ade .adp .mde), scripts and
//     shortcuts (.js .jse .vbs .vbe .wsf .ps1 .bat .cmd .hta .lnk .jar
//     ...), troubleshooting packages (.diagcab), OneNote notebooks (.one
//     .onepkg), disk images (.iso .img .vhd) and, weighed less, internet
//     shortcuts (.url); by declared media type.
//
//   - Names: double extensions ("invoice.pdf.exe", "invoice.pdf      .exe"),
//     reordering characters (U+202E "invoice\u202Efdp.exe" shows as
//     "invoiceexe.pdf"), zero-width characters and the trailing dots and
//     spaces Windows drops.
//
//   - Macros: OOXML documents holding vbaProject.bin, OLE2 compound files
//     ([MS-CFB]) with a VBA storage, macro-enabled extensions and media
//     types (.docm .xlsm ...).
//
//   - Archives: zip (APPNOTE.TXT), tar (POSIX ustar and GNU), gzip
//     (RFC 1952, with the original name its header may carry) and bzip2
//     (named after the file less its extension; at most 16 MiB is
//     decompressed, its decoder being slow) looked into, each entry inspected the same way, nested up to
//     Limits.MaxDepth (a .tar.gz is two levels); the encryption flag of zip
//     entries; RAR 4 and RAR 5 headers read for encryption flags and file
//     names; 7z headers (7-Zip's 7zFormat.txt) read for the file names and
//     the AES coder, the header decompressed first when it is compressed
//     with LZMA, as 7-Zip writes it by default (github.com/ulikunitz/xz's
//     lzma package; at most 1 MiB of header), and an encrypted header
//     (names hidden) told by its coder.
//
//   - Bounds: Limits caps the nesting depth, the number of entries, the
//     total uncompressed size declared and the compression ratio of an
//     entry (above 1 MiB). A zip bomb (a high-ratio entry, 42.zip-like
//     nesting, millions of entries) gives a finding without being
//     expanded: entry counts are read from the end of central directory
//     before archive/zip allocates, ratios from the declared sizes (gzip
//     declares none: its output is read only up to what the ratio and the
//     budgets allow, and past it the file is a bomb or too large), and an
//     entry is read whole only when it is an archive or OLE2 document,
//     at most 16 MiB each and 32 MiB in all; archive/zip refuses to read
//     past a declared size, so lying headers cannot get around it.
//
//   - Active content: PDF files naming the /Launch or /JavaScript actions
//     (ISO 32000-1 §12.6.4), in their own dictionaries and in compressed
//     object streams (§7.5.7, where today's writers put most of them),
//     names written with #xx escapes decoded (and weighed more: no writer
//     needs them); files embedded in a PDF (§7.11.4) examined as
//     attachments of their own, within the same depth and budgets; HTML
//     files with a password input (a login page sent as a file).
//
// Left out: decompressing the files inside RAR and 7z archives (their
// names are read, their contents not); 7z headers compressed otherwise
// than with LZMA alone or stored (not written by 7-Zip: such a header is
// a finding of NameMalformed, its names unseen); xz, cab and ace
// archives (xz: the decoder at hand sizes its dictionary by the file's
// word, up to gigabytes, and a bound would have to be read from every
// block); PDF streams under filters other than FlateDecode alone or with
// a predictor, embedded files whose stream does not say /Type
// /EmbeddedFile (the key is optional), a stream whose /Length is a
// reference and whose compressed bytes hold "endstream", an embedded PDF
// looked into past its first 4 KiB, and encrypted PDFs (their strings
// and streams are ciphertext); Excel 4.0 (XLM) macros; OneNote files'
// contents (a notebook is flagged by its name alone); malware
// signatures, which are clamd's job (internal/clamd).
package attach
