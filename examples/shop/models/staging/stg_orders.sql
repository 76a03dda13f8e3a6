with source as (

    select * from {{ source('shop_raw', 'raw_orders') }}

)

select
    id as order_id,
    customer_id,
    cast(ordered_at as timestamp) as ordered_at,
    cast(ordered_at as date) as order_date,
    status as order_status,
    cast(updated_at as timestamp) as updated_at
from source
