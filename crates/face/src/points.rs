//! The points of MediaPipe's 468-point face mesh that doppel names, by index. Data only: doppel-face (the model)
//! and doppel-avatar (the photo rig, by `#[path]`, so that it does not depend on the model's runtime) share this file.

/// Forehead (top of the face oval) and chin.
pub const FOREHEAD: usize = 10;
pub const CHIN: usize = 152;
pub const NOSE_TIP: usize = 1;
/// Inner lips at the centre: upper and lower.
pub const INNER_UPPER: usize = 13;
pub const INNER_LOWER: usize = 14;
/// Outer mouth corners (picture left, right).
pub const MOUTH_LEFT: usize = 61;
pub const MOUTH_RIGHT: usize = 291;
/// Cheek extremes of the oval (picture left, right).
pub const CHEEK_LEFT: usize = 234;
pub const CHEEK_RIGHT: usize = 454;
/// The face oval, clockwise from the forehead.
pub const OVAL: [usize; 36] = [
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152, 148, 176, 149, 150,
    136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
];
/// Outer lip contour: lower (corner to corner), then upper.
pub const LIPS_OUTER_LOWER: [usize; 11] = [61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291];
pub const LIPS_OUTER_UPPER: [usize; 11] = [61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291];
/// Inner lip contour: lower (corner to corner), then upper.
pub const LIPS_INNER_LOWER: [usize; 11] = [78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308];
pub const LIPS_INNER_UPPER: [usize; 11] = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308];
/// Eye on the picture's left: lower lid (outer corner to inner), upper lid (outer to inner, without corners).
pub const LEFT_EYE_LOWER: [usize; 9] = [33, 7, 163, 144, 145, 153, 154, 155, 133];
pub const LEFT_EYE_UPPER: [usize; 7] = [246, 161, 160, 159, 158, 157, 173];
/// Eye on the picture's right: lower lid (outer corner to inner), upper lid (outer to inner, without corners).
pub const RIGHT_EYE_LOWER: [usize; 9] = [263, 249, 390, 373, 374, 380, 381, 382, 362];
pub const RIGHT_EYE_UPPER: [usize; 7] = [466, 388, 387, 386, 385, 384, 398];
/// Brows, outer end to inner end (picture left eye's brow, then the other).
pub const LEFT_BROW: [usize; 10] = [70, 63, 105, 66, 107, 46, 53, 52, 65, 55];
pub const RIGHT_BROW: [usize; 10] = [300, 293, 334, 296, 336, 276, 283, 282, 295, 285];
/// Both eyes: (lower lid, upper lid), picture left first.
pub const EYES: [([usize; 9], [usize; 7]); 2] = [(LEFT_EYE_LOWER, LEFT_EYE_UPPER), (RIGHT_EYE_LOWER, RIGHT_EYE_UPPER)];
/// Inner and outer ends of each brow.
pub const BROW_INNER: [usize; 4] = [55, 107, 285, 336];
pub const BROW_OUTER: [usize; 4] = [46, 70, 276, 300];
/// Cheek points under the eyes (picture left, right, then higher ones).
pub const CHEEKS: [usize; 4] = [205, 425, 50, 280];
/// Number of points.
pub const LANDMARKS: usize = 468;
