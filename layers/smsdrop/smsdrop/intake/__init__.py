"""Reading an upload: the streaming reader, columns, row checks, phone numbers, rejections."""
