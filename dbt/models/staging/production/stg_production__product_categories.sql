with

source as (

    select * from {{ source('production', 'productcategory') }}

),

renamed as (

    select
        cast(productcategoryid as {{ dbt.type_bigint() }}) as product_category_id,
        cast(name as {{ dbt.type_string() }}) as product_category_name,
        cast(modifieddate as {{ dbt.type_timestamp() }}) as modified_at,
        _airbyte_extracted_at as _extracted_at

    from source

)

select * from renamed
