"""Why an upload was refused, as API errors."""

from __future__ import annotations

from aptmagic.kit.errors import AppError, Conflict, Unavailable


class UploadTooLarge(AppError):
    status_code = 413
    code = "upload_too_large"


class ImageTooLarge(AppError):
    """More pixels than ``upload_max_pixels``; refused from the header, before decoding."""

    status_code = 413
    code = "image_too_large"


class UnsupportedType(AppError):
    status_code = 415
    code = "unsupported_media_type"


class TypeMismatch(AppError):
    status_code = 415
    code = "content_type_mismatch"


class EmptyUpload(AppError):
    status_code = 422
    code = "upload_empty"


class CorruptUpload(AppError):
    status_code = 422
    code = "upload_corrupt"


class MediaTooLong(AppError):
    status_code = 422
    code = "media_too_long"


class Infected(AppError):
    status_code = 422
    code = "upload_infected"


class MalformedBody(AppError):
    status_code = 400
    code = "malformed_body"


class UploadUrlInvalid(AppError):
    status_code = 403
    code = "upload_url_invalid"


class UploadUrlExpired(AppError):
    status_code = 403
    code = "upload_url_expired"


class UploadUrlUsed(Conflict):
    code = "upload_url_used"


class ScannerUnavailable(Unavailable):
    code = "scanner_unavailable"
