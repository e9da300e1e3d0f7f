// The MIME type of each stored media format (docs/wal-format.md's MEDIA row): a blob is shown typed by its kind and
// format, never sniffed.

export const IMAGE_TYPES = {png: 'image/png', jpeg: 'image/jpeg', jpg: 'image/jpeg', gif: 'image/gif', webp: 'image/webp', bmp: 'image/bmp'};
export const AUDIO_TYPES = {wav: 'audio/wav', mp3: 'audio/mpeg', ogg: 'audio/ogg', flac: 'audio/flac'};
export const VIDEO_TYPES = {mp4: 'video/mp4', webm: 'video/webm', ogg: 'video/ogg'};
