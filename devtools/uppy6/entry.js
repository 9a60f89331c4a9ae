// What the demo page's bundle exposes as window.Uppy (make vendor-uppy builds it).
export { default as Uppy } from '@uppy/core'
export { default as Dashboard } from '@uppy/dashboard'
export { default as AwsS3 } from '@uppy/aws-s3'
